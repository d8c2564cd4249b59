"""The `sparsewire` console script of the wheel: runs the bundled CLI (sparsewire/lib/sparsewire),
or in a checkout the repository's .build/release/sparsewire, with the same arguments."""
import os
import pathlib
import sys


def executable():
    """Path of the `sparsewire` CLI this package uses (the bundled one first)."""
    here = pathlib.Path(__file__).resolve().parent
    for cli in (here / "lib" / "sparsewire", here.parent.parent.parent / ".build" / "release" / "sparsewire"):
        if cli.is_file() and os.access(cli, os.X_OK):
            return cli
    raise SystemExit("sparsewire: no CLI found (neither the wheel's sparsewire/lib/sparsewire nor a checkout's "
                     ".build/release/sparsewire; build with `swift build -c release`)")


def plugin_path(name):
    """The shipped plugin `name` (gmp, snip, momentum_regrow) as a path for `load_plugin`."""
    lib = executable().parent
    path = lib / f"libsw_{name}.so"
    if not path.is_file():
        shipped = sorted(p.name[len("libsw_"):-3] for p in lib.glob("libsw_*.so"))
        from ._errors import NotFoundError
        raise NotFoundError(f"no shipped plugin {name!r}; shipped: {', '.join(shipped) or 'none'}")
    return path


def main():
    cli = str(executable())
    os.execv(cli, [cli] + sys.argv[1:])


if __name__ == "__main__":
    main()
