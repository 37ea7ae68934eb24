from cnsec.cli import run

run()
