"""Generate the textlens.v1 Python stubs from proto/ (the only way stubs are made).

python scripts/gen_proto.py            # writes into proto/
python scripts/gen_proto.py --out DIR  # writes into DIR (the freshness test uses this)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROTO_ROOT = ROOT / "proto"
PROTOS = ["textlens/v1/textlens.proto"]
INIT = '"""Generated gRPC stubs of the textlens.v1 contract. Do not edit: run `make proto`."""\n'


def generate(out: Path) -> list[Path]:
    from grpc_tools import protoc

    (out / "textlens" / "v1").mkdir(parents=True, exist_ok=True)
    args = [
        "grpc_tools.protoc",
        f"-I{PROTO_ROOT}",
        f"--python_out={out}",
        f"--pyi_out={out}",
        f"--grpc_python_out={out}",
        *[str(PROTO_ROOT / p) for p in PROTOS],
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    init = out / "textlens" / "v1" / "__init__.py"
    init.write_text(INIT, encoding="utf-8")
    return sorted((out / "textlens" / "v1").glob("*.py*"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=PROTO_ROOT)
    args = parser.parse_args()
    for path in generate(args.out):
        print(path.relative_to(args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
