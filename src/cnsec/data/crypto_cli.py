"""``cnsec data keys|encrypt|decrypt|rewrap|inspect``: envelope encryption from the command line.

Imports of the crypto modules happen inside the handlers so ``cnsec --help`` stays fast.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cnsec.errors import InputError, UsageError
from cnsec.model.source import Source

if TYPE_CHECKING:
    from cnsec.data.crypto.keyring import Keyring
    from cnsec.data.crypto.providers import KeyWrapper, Stanza, Unwrappers
    from cnsec.data.crypto.stream import Header


def register(dsub: Any) -> None:
    keys = dsub.add_parser("keys", help="create, rotate and list keyring keys",
                           description="Named, versioned AES-256 keys in the local keyring "
                                       "($CNSEC_KEYRING, encrypted under $CNSEC_MASTER_KEY or "
                                       "$CNSEC_PASSPHRASE).")
    ksub = keys.add_subparsers(dest="keys_command", metavar="ACTION", parser_class=type(keys))
    keys.set_defaults(func=lambda args: (keys.print_help(), 2)[1])
    p = ksub.add_parser("create", help="create a key (version 1)")
    p.add_argument("name")
    p.set_defaults(func=_keys_create)
    p = ksub.add_parser("rotate", help="add a version and make it primary; old versions still decrypt")
    p.add_argument("name")
    p.set_defaults(func=_keys_rotate)
    p = ksub.add_parser("list", help="names, versions, primary, created, min decryption version")
    p.add_argument("-f", "--format", choices=("table", "json"), default="table")
    p.set_defaults(func=_keys_list)
    p = ksub.add_parser("set-min-version", help="refuse to decrypt with versions below N (after rewrap)")
    p.add_argument("name")
    p.add_argument("version", type=int)
    p.set_defaults(func=_keys_set_min)
    p = ksub.add_parser("keypair", help="generate an identity for recipient-based sharing")
    p.add_argument("--type", choices=("x25519", "rsa"), default="x25519")
    p.add_argument("-o", "--output", required=True, metavar="FILE",
                   help="private identity file (written 0600); for rsa the public key goes to FILE.pub")
    p.set_defaults(func=_keys_keypair)
    p = ksub.add_parser("generate-master-key", help="print a fresh random CNSEC_MASTER_KEY value")
    p.set_defaults(func=_keys_master)

    enc = dsub.add_parser("encrypt", help="encrypt a file (sealed stream) or its values (--values)",
                          description="Envelope-encrypt FILE: a fresh data key per file, wrapped by "
                                      "--key / --recipient.")
    enc.add_argument("file", help="input file ('-' for stdin)")
    enc.add_argument("-o", "--output", metavar="FILE",
                     help="output ('-' for stdout; default FILE.cnsec, never replacing an existing file; "
                          "stdout with --values)")
    enc.add_argument("--key", action="append", default=[], metavar="KEY",
                     help="keyring key NAME, vault:NAME or awskms:KEY_ID (repeatable; default: the "
                          "data.creation_rules of .cnsec.yaml that match FILE)")
    enc.add_argument("--recipient", "-r", action="append", default=[], metavar="R",
                     help="age1… X25519 recipient, or a file with one or an RSA (>= 3072) PEM public key")
    enc.add_argument("--config", metavar="FILE",
                     help=".cnsec.yaml with data.creation_rules (default: the nearest above FILE)")
    _context_option(enc)
    enc.add_argument("--values", action="store_true",
                     help="per-value encryption of YAML/JSON/.env: keys stay readable")
    enc.add_argument("--only", action="append", metavar="PATTERN",
                     help="with --values: seal only matching paths (/db/*, **/password, password)")
    enc.add_argument("--format", dest="doc_format", choices=("yaml", "json", "env"),
                     help="with --values: the file's format (default: from the name)")
    enc.add_argument("--chunk-size", type=int, default=None, metavar="BYTES",
                     help="stream chunk size (default 1 MiB)")
    enc.set_defaults(func=_encrypt)

    dec = dsub.add_parser("decrypt", help="decrypt a sealed file or a per-value encrypted file")
    dec.add_argument("file", help="input file ('-' for stdin)")
    dec.add_argument("-o", "--output", metavar="FILE",
                     help="output ('-' for stdout; default FILE without .cnsec, never replacing an existing "
                          "file; stdout with --values)")
    _context_option(dec)
    dec.add_argument("--identity", "-i", action="append", default=[], metavar="FILE",
                     help="X25519 (age) or RSA private key file for recipient stanzas")
    dec.add_argument("--values", action="store_true", help="the file is per-value encrypted "
                                                           "(detected automatically otherwise)")
    dec.add_argument("--format", dest="doc_format", choices=("yaml", "json", "env"))
    dec.set_defaults(func=_decrypt)

    rew = dsub.add_parser("rewrap", help="re-wrap data keys under the primary key version; "
                                         "no plaintext on disk")
    rew.add_argument("files", nargs="+")
    rew.add_argument("--key", metavar="NAME", help="move to this keyring key instead of the same key's "
                                                   "primary version")
    rew.add_argument("--identity", "-i", action="append", default=[], metavar="FILE")
    rew.add_argument("--format", dest="doc_format", choices=("yaml", "json", "env"))
    rew.set_defaults(func=_rewrap)

    ins = dsub.add_parser("inspect", help="show a sealed file's header without decrypting")
    ins.add_argument("file")
    ins.add_argument("-f", "--format", choices=("table", "json"), default="table")
    ins.add_argument("--doc-format", choices=("yaml", "json", "env"))
    ins.set_defaults(func=_inspect)


def _context_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--context", "-c", action="append", default=[], metavar="KEY=VALUE",
                        help="encryption context (authenticated, not secret; needed again to decrypt)")


def _parse_context(items: Sequence[str]) -> dict[str, str]:
    context: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--context must be KEY=VALUE, got {item!r}")
        if key in context:
            raise UsageError(f"--context key {key!r} given twice")
        context[key] = value
    return context


# -- keys --------------------------------------------------------------------------------------
#: A new keyring is not protected by a passphrase shorter than this (argon2id slows guessing; it
#: cannot make "abc" safe).
MIN_PASSPHRASE = 12


def _check_new_passphrase() -> None:
    import os

    from cnsec.data.crypto.keyring import default_keyring_path

    passphrase = os.environ.get("CNSEC_PASSPHRASE", "")
    if os.environ.get("CNSEC_MASTER_KEY") or not passphrase or default_keyring_path().exists():
        return
    if len(passphrase) < MIN_PASSPHRASE:
        raise UsageError(f"CNSEC_PASSPHRASE is too short to protect a new keyring: use at least "
                         f"{MIN_PASSPHRASE} characters (or CNSEC_MASTER_KEY)")


def _keys_create(args: argparse.Namespace) -> int:
    from cnsec.data.crypto.keyring import Keyring

    _check_new_passphrase()
    with Keyring.edit() as ring:
        key = ring.create(args.name)
    print(f"created key {key.name} version 1 in {ring.path}")
    return 0


def _keys_rotate(args: argparse.Namespace) -> int:
    from cnsec.data.crypto.keyring import Keyring

    with Keyring.edit() as ring:  # an unknown name is Keyring.get's WrongKeyError
        version = ring.rotate(args.name)
    print(f"rotated {args.name}: version {version.version} is primary; older versions still decrypt")
    return 0


def _keys_set_min(args: argparse.Namespace) -> int:
    from cnsec.data.crypto.keyring import Keyring

    with Keyring.edit() as ring:  # an unknown name is Keyring.get's WrongKeyError
        ring.set_min_decryption_version(args.name, args.version)
    print(f"{args.name}: min_decryption_version is {args.version}")
    return 0


def _keys_list(args: argparse.Namespace) -> int:
    from cnsec.data.crypto.keyring import Keyring

    ring = Keyring.open(missing_ok=True)
    rows = [k.summary() for _, k in sorted(ring.keys.items())]
    if args.format == "json":
        print(json.dumps({"keyring": str(ring.path), "keys": rows}, indent=2))
        return 0
    if not rows:
        print(f"no keys in {ring.path}")
        return 0
    head = ("NAME", "VERSIONS", "PRIMARY", "MIN_DECRYPT", "CREATED")
    table = [head] + [(r["name"], ",".join(map(str, r["versions"])), str(r["primary"]),
                       str(r["min_decryption_version"]), r["created"]) for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(head))]
    for row in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
    return 0


def _keys_keypair(args: argparse.Namespace) -> int:
    import datetime as dt

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    from cnsec.data.crypto.providers import x25519_identity_string, x25519_recipient_string
    from cnsec.fsutil import atomic_writer

    out = Path(args.output)
    if out.exists():
        raise UsageError("refusing to overwrite an existing identity file", Source(str(out)))
    if args.type == "x25519":
        private = X25519PrivateKey.generate()
        recipient = x25519_recipient_string(private.public_key())
        now = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
        text = f"# created: {now}\n# public key: {recipient}\n{x25519_identity_string(private)}\n"
        with atomic_writer(out, "w", perms=0o600) as handle:
            handle.write(text)
        print(recipient)
        return 0
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    pem = rsa_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    pub = rsa_key.public_key().public_bytes(serialization.Encoding.PEM,
                                            serialization.PublicFormat.SubjectPublicKeyInfo)
    with atomic_writer(out, "wb", perms=0o600) as handle:
        handle.write(pem)
    pub_path = out.with_name(out.name + ".pub")
    with atomic_writer(pub_path, "wb", perms=0o644) as handle:
        handle.write(pub)
    print(pub_path)
    return 0


def _keys_master(args: argparse.Namespace) -> int:
    import base64
    import os

    print(base64.b64encode(os.urandom(32)).decode("ascii"))
    return 0


# -- providers from arguments ------------------------------------------------------------------
def _lazy_keyring() -> Callable[[], Keyring]:
    cache: list[Keyring] = []

    def load() -> Keyring:
        if not cache:
            from cnsec.data.crypto.keyring import Keyring

            cache.append(Keyring.open())
        return cache[0]

    return load


def _wrappers(key_specs: Sequence[str], recipients: Sequence[str],
              keyring: Callable[[], Keyring]) -> list[KeyWrapper]:
    from cnsec.data.crypto.providers import AwsKms, LocalKeyWrapper, VaultTransit, load_recipient

    wrappers: list[KeyWrapper] = []
    for spec in key_specs:
        if spec.startswith("vault:"):
            wrappers.append(VaultTransit(spec[len("vault:"):]))
        elif spec.startswith("awskms:"):
            wrappers.append(AwsKms(spec[len("awskms:"):]))
        else:
            wrappers.append(LocalKeyWrapper(keyring(), spec))
    wrappers.extend(load_recipient(r) for r in recipients)
    if not wrappers:
        raise UsageError("give --key NAME (keyring, vault:NAME, awskms:KEY_ID) or --recipient")
    return wrappers


def _unwrappers(identities: Sequence[str], keyring: Callable[[], Keyring]) -> Unwrappers:
    from cnsec.data.crypto.providers import (
        AwsKms,
        KeyUnwrapper,
        LocalKeyUnwrapper,
        Unwrappers,
        VaultTransit,
        load_identity,
    )

    found: list[KeyUnwrapper] = [load_identity(i) for i in identities]
    found.append(LocalKeyUnwrapper(keyring))
    found.append(VaultTransit("-"))
    found.append(AwsKms("-"))
    return Unwrappers(found)


# -- encrypt / decrypt -------------------------------------------------------------------------
def _read_text(path: str) -> str:
    try:
        if path == "-":
            buffer = getattr(sys.stdin, "buffer", None)  # bytes: text mode turns bad bytes into surrogates
            return str(buffer.read().decode("utf-8")) if buffer is not None else sys.stdin.read()
        with open(path, encoding="utf-8", newline="") as handle:  # CRLF files come back CRLF
            return handle.read()
    except UnicodeDecodeError:
        raise InputError("not UTF-8 text (per-value encryption needs YAML, JSON or .env)", Source(path)) \
            from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", Source(path)) from None


def _write_text(path: str | None, text: str, *, secret: bool) -> None:
    if path is None or path == "-":
        sys.stdout.write(text)
        return
    from cnsec.data.files.whole import plaintext_writer
    from cnsec.fsutil import atomic_writer

    try:
        with plaintext_writer(path, "w") if secret else atomic_writer(path, "w") as handle:
            handle.write(text)
    except OSError as exc:
        raise InputError(f"cannot write: {exc.strerror}", Source(path)) from None


def _encrypt(args: argparse.Namespace) -> int:
    context = _parse_context(args.context)
    keyring = _lazy_keyring()
    if not args.key and not args.recipient:
        from cnsec.data.files.creation_rules import rule_for

        rule = rule_for(args.file, args.config)
        if rule is None:
            raise UsageError("give --key NAME (keyring, vault:NAME, awskms:KEY_ID) or --recipient, or a "
                             "data.creation_rules entry in .cnsec.yaml matching this file (docs/data-security.md)")
        args.key, args.recipient = list(rule.keys), list(rule.recipients)
        args.only = args.only or (list(rule.only) or None)
        print(f"keys from {rule.origin} (path {rule.path!r}): "
              f"{', '.join((*rule.keys, *rule.recipients))}", file=sys.stderr)
    wrappers = _wrappers(args.key, args.recipient, keyring)
    if args.values:
        from cnsec.data.files.structured import detect_format, encrypt_values

        if args.chunk_size is not None:
            raise UsageError("--chunk-size applies to whole-file encryption, not --values")
        fmt = detect_format(args.file, args.doc_format)
        text = encrypt_values(_read_text(args.file), fmt, wrappers, context, args.only, args.file)
        _write_text(args.output, text, secret=False)
        return 0
    if args.only or args.doc_format:
        raise UsageError("--only and --format need --values")
    from cnsec.data.crypto.stream import DEFAULT_CHUNK
    from cnsec.data.files.whole import encrypt_file

    output = args.output or ("-" if args.file == "-" else _new_default(args.file + ".cnsec"))
    chunk_size = DEFAULT_CHUNK if args.chunk_size is None else args.chunk_size
    encrypt_file(args.file, output, wrappers, context, chunk_size=chunk_size)
    if output != "-":
        from cnsec.report.console import note

        note(f"encrypted {args.file} -> {output}")
    return 0


def _decrypt(args: argparse.Namespace) -> int:
    from cnsec.data.files.whole import decrypt_file, is_sealed_file

    context = _parse_context(args.context)
    unwrappers = _unwrappers(args.identity, _lazy_keyring())
    if args.values or args.doc_format or (args.file != "-" and not is_sealed_file(args.file)
                                          and _looks_structured(args.file)):
        from cnsec.data.files.structured import decrypt_values, detect_format

        fmt = detect_format(args.file, args.doc_format)
        text = decrypt_values(_read_text(args.file), fmt, unwrappers, context, args.file)
        _write_text(args.output, text, secret=True)
        return 0
    if args.output:
        output = args.output
    elif args.file == "-":
        output = "-"
    elif args.file.endswith(".cnsec"):
        output = _new_default(args.file[:-len(".cnsec")])
    else:
        raise UsageError("give -o OUTPUT (the input does not end in .cnsec)")
    decrypt_file(args.file, output, unwrappers, context)
    if output != "-":
        from cnsec.report.console import note

        note(f"decrypted {args.file} -> {output}")
    return 0


def _new_default(path: str) -> str:
    """An output name the user did not type never replaces a file (an older backup.tar.cnsec
    decrypted beside a newer backup.tar, or a second encryption over the only sealed copy)."""
    if Path(path).exists():
        raise UsageError(f"{path} already exists: give -o {path} to replace it, or another -o")
    return path


def _looks_structured(path: str) -> bool:
    from cnsec.data.files.structured import detect_format

    try:
        detect_format(path)
        return True
    except UsageError:
        return False


# -- rewrap ------------------------------------------------------------------------------------
def _rewrap(args: argparse.Namespace) -> int:
    from cnsec.data.crypto.providers import KeepStanza, LocalKeyWrapper
    from cnsec.data.files.whole import is_sealed_file, rewrap_file
    from cnsec.errors import CnsecError

    keyring = _lazy_keyring()
    unwrappers = _unwrappers(args.identity, keyring)

    def targets(stanzas: Sequence[Stanza], used: Stanza) -> list[KeyWrapper]:
        """Local stanzas move to the primary version (of --key, or of the same key); others stay."""
        out: list[KeyWrapper] = []
        moved = False
        for stanza in stanzas:
            if stanza.get("type") == "local":
                if not moved:
                    out.append(LocalKeyWrapper(keyring(), args.key or str(stanza.get("key"))))
                    moved = True
            else:
                out.append(KeepStanza(stanza))
        if not moved and args.key:
            out.append(LocalKeyWrapper(keyring(), args.key))
        return out

    def current(stanzas: Sequence[Stanza]) -> bool:
        local = [s for s in stanzas if s.get("type") == "local"]
        if not local:
            return not args.key  # recipients, Vault and KMS stanzas are re-wrapped by their holders
        if len(local) > 1:
            return False
        key = keyring().get(args.key or str(local[0].get("key")))
        return local[0].get("key") == key.name and local[0].get("version") == key.primary

    from cnsec.report.safe import printable

    failures = 0
    for path in args.files:
        try:
            if current(_stanzas_of(path, args.doc_format)):
                print(f"{path}: unchanged (already under the primary version, or no keyring key in it)")
                continue
            if is_sealed_file(path):
                old, new = rewrap_file(path, unwrappers, lambda h, used: targets(h.stanzas, used))
                before, after = old.stanzas, new.stanzas
            else:
                before, after = _rewrap_structured(path, args.doc_format, unwrappers, targets)
            print(printable(f"rewrapped {path}: {_describe(before)} -> {_describe(after)}"))
        except CnsecError as exc:
            failures += 1
            print(f"cnsec: {exc}", file=sys.stderr)
    if failures:
        print(f"cnsec: {failures} of {len(args.files)} files could not be rewrapped", file=sys.stderr)
        return 2
    return 0


def _require_file(path: str) -> None:
    """A missing file or a folder is that, not "not a sealed file"."""
    p = Path(path)
    if p.is_dir():
        raise InputError("is a directory", Source(path))
    if not p.exists():
        raise InputError("no such file", Source(path))


def _header_of(path: str) -> Header:
    from cnsec.data.crypto.errors import CryptoError
    from cnsec.data.crypto.stream import read_header

    try:
        with open(path, "rb") as handle:
            return read_header(handle)[0]
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", Source(path)) from None
    except CryptoError as exc:
        if exc.source is None:
            exc.source = Source(path)
        raise


def _stanzas_of(path: str, doc_format: str | None) -> list[Stanza]:
    from cnsec.data.files.whole import is_sealed_file

    _require_file(path)
    if is_sealed_file(path):
        return list(_header_of(path).stanzas)
    from cnsec.data.files.structured import read_meta

    return list(read_meta(_read_text(path), _values_format(path, doc_format), path)["stanzas"])


def _values_format(path: str, doc_format: str | None) -> str:
    """The format of a file that is not a sealed stream; with no name to go by it is "not sealed",
    which is what the user needs to hear, rather than "unknown format"."""
    from cnsec.data.files.structured import detect_format

    if doc_format is None and not _looks_structured(path):
        from cnsec.data.crypto.errors import NotSealedError

        raise NotSealedError("not a cnsec sealed file (bad magic)", Source(path))
    return detect_format(path, doc_format)


def _rewrap_structured(path: str, doc_format: str | None, unwrappers: Unwrappers,
                       targets: Callable[[Sequence[Stanza], Stanza], list[KeyWrapper]]
                       ) -> tuple[list[Stanza], list[Stanza]]:
    from cnsec.data.files.structured import detect_format, read_meta, rewrap_values
    from cnsec.fsutil import atomic_writer

    fmt = detect_format(path, doc_format)
    text = _read_text(path)
    stanzas: Sequence[Stanza] = read_meta(text, fmt, path)["stanzas"]
    new_text, old, new = rewrap_values(text, fmt, unwrappers, lambda used: targets(stanzas, used), path)
    try:
        with atomic_writer(path, "w") as handle:
            handle.write(new_text)
    except OSError as exc:  # as rewrap_file says it: one failed file, and the others still go
        raise InputError(f"cannot rewrite: {exc.strerror}", Source(path)) from None
    return list(old["stanzas"]), list(new["stanzas"])


def _describe(stanzas: Sequence[Stanza]) -> str:
    from cnsec.data.crypto.providers import describe_stanza

    return ", ".join(describe_stanza(s) for s in stanzas)


# -- inspect -----------------------------------------------------------------------------------
def _inspect(args: argparse.Namespace) -> int:
    from cnsec.data.files.whole import is_sealed_file

    _require_file(args.file)
    if is_sealed_file(args.file):
        summary = _header_of(args.file).summary()
    else:
        from cnsec.data.files.structured import meta_summary, read_meta

        fmt = _values_format(args.file, args.doc_format)
        summary = meta_summary(read_meta(_read_text(args.file), fmt, args.file))
    if args.format == "json":
        print(json.dumps(summary, indent=2))
        return 0
    from cnsec.report.safe import printable  # a header comes from whoever sent the file

    for name, value in summary.items():
        if name == "keys":
            for stanza in value:
                print(f"{'key':<18} " + printable(" ".join(f"{k}={v}" for k, v in stanza.items())))
            continue
        if isinstance(value, list):
            value = ", ".join(map(str, value)) or "-"
        print(f"{name:<18} {'-' if value is None else printable(value)}")
    return 0
