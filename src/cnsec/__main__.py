import sys

from cnsec.cli import main

sys.exit(main())
