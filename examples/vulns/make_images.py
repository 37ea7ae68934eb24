"""Write the example's images as `docker save` tarballs: python3 examples/vulns/make_images.py OUT_DIR

Each folder of images-src/ holds a root filesystem (the dpkg database and os-release of a Debian 11 image)
and image.json (its repository tags). No container engine is needed: the tarball is the legacy
`docker save` layout (manifest.json with RepoTags, one layer tar), which `cnsec assess --images` reads.
"""

from __future__ import annotations

import io
import json
import sys
import tarfile
from pathlib import Path

SRC = Path(__file__).resolve().parent / "images-src"


def _add(tf: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = 0  # the same bytes on every run
    tf.addfile(info, io.BytesIO(data))


def save(image: Path, out: Path) -> Path:
    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w") as tf:
        for path in sorted(p for p in (image / "rootfs").rglob("*") if p.is_file()):
            _add(tf, path.relative_to(image / "rootfs").as_posix(), path.read_bytes())
    tags = json.loads((image / "image.json").read_text())["tags"]
    target = out / f"{image.name}.tar"
    with tarfile.open(target, "w") as tf:
        _add(tf, "layer0/layer.tar", layer.getvalue())
        _add(tf, "manifest.json", json.dumps([{"Config": "config.json", "RepoTags": tags,
                                               "Layers": ["layer0/layer.tar"]}]).encode())
    return target


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__.splitlines()[0], file=sys.stderr)
        return 2
    out = Path(argv[0])
    out.mkdir(parents=True, exist_ok=True)
    for image in sorted(p for p in SRC.iterdir() if p.is_dir()):
        print(save(image, out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
