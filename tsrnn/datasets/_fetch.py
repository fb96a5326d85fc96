"""Where dataset files come from: a local mirror, the cache (data home), or a verified download.

Resolution order for one file, given its path in the mirror layout (e.g. ``m4/hourly/Hourly-train.csv``):

1. ``$TSRNN_DATA_MIRROR/<path>`` when ``TSRNN_DATA_MIRROR`` names a folder that holds it (read in place);
2. ``<data home>/<path>`` when a previous call cached it;
3. a download from the original URL into ``<data home>/<path>``: streamed to a temporary file in the same
   folder, its SHA-256 compared with the registry's, then renamed into place atomically. A mismatch deletes the
   temporary file and raises :class:`ChecksumError`, so the cache never holds a bad file.

The data home is ``$TSRNN_DATA_HOME``, else ``$XDG_CACHE_HOME/tsrnn``, else ``~/.cache/tsrnn``. Every path is
checked to stay inside the mirror or the data home (no absolute paths, no ``..``), and archive members are
extracted only after the same check. Offline, the error names the URL to download and where to put the file.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import urllib.request
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

__all__ = [
    "RemoteFile",
    "DatasetNotFoundError",
    "ChecksumError",
    "DatasetFormatError",
    "parsing",
    "data_home",
    "mirror_root",
    "fetch",
    "find_local",
    "safe_join",
    "safe_extract",
    "sha256_of",
]

_CHUNK = 1 << 20


class DatasetNotFoundError(FileNotFoundError):
    """A dataset file is neither in the mirror nor in the cache and could not be downloaded."""


class ChecksumError(OSError):
    """A file's SHA-256 differs from the one recorded in the registry."""


class DatasetFormatError(ValueError):
    """A dataset file is malformed: the message names the file and what could not be read."""


@contextmanager
def parsing(path, what: str = "file", broad: bool = False):
    """Turn a parser's raw error inside the block into a :class:`DatasetFormatError` naming ``path``.

    ``broad`` catches every ``Exception`` (third-party readers such as wfdb raise many kinds on bad input);
    otherwise the usual parsing errors (value, type, key, index, unicode, overflow, EOF).
    """
    kinds = Exception if broad else (ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError,
                                     EOFError, UnicodeError)
    try:
        yield
    except DatasetFormatError:
        raise
    except kinds as exc:  # noqa: BLE001 - re-raised with the file named
        msg = str(exc).splitlines()[0][:300] if str(exc) else ""
        raise DatasetFormatError(f"{path}: malformed {what} ({type(exc).__name__}: {msg})") from exc


@dataclass(frozen=True)
class RemoteFile:
    """One file of a dataset.

    Parameters
    ----------
    path : str
        Relative POSIX path in the mirror layout and in the data home (``m4/hourly/Hourly-train.csv``).
    url : str or None
        Original location. ``None`` for files that exist only in a mirror (derived files, see the card).
    sha256 : str or None
        Checksum of the file at ``url``; verified after download and when read from the mirror or the cache.
        ``None`` when not recorded (the file is then used unverified; the card says so).
    mirror_sha256 : str or None
        Checksum of the mirror copy when it deliberately differs from the original (e.g. NAB's label files cut to
        the mirrored series). Defaults to ``sha256``.
    """

    path: str
    url: str | None = None
    sha256: str | None = None
    mirror_sha256: str | None = None

    @property
    def expected_mirror_sha256(self) -> str | None:
        return self.mirror_sha256 or self.sha256


def data_home(path: str | os.PathLike | None = None) -> Path:
    """The cache folder for downloads: ``path``, else ``$TSRNN_DATA_HOME``, else the user cache."""
    if path is None:
        path = os.environ.get("TSRNN_DATA_HOME")
    if not path:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        path = os.path.join(base, "tsrnn")
    return Path(path).expanduser()


def mirror_root() -> Path | None:
    """The folder named by ``$TSRNN_DATA_MIRROR``, or ``None`` when unset or not a folder."""
    path = os.environ.get("TSRNN_DATA_MIRROR")
    if not path:
        return None
    p = Path(path).expanduser()
    return p if p.is_dir() else None


def safe_join(root: Path, rel: str) -> Path:
    """``root / rel``, refusing absolute paths, drive letters, backslashes and ``..`` components.

    Raises
    ------
    ValueError
        When ``rel`` could point outside ``root``.
    """
    rel = str(rel)
    parts = PurePosixPath(rel).parts
    bad = (
        not rel
        or rel.startswith(("/", "\\"))
        or "\\" in rel
        or (len(rel) > 1 and rel[1] == ":")
        or any(p in ("..", "") for p in parts)
        or "\x00" in rel
    )
    if bad:
        raise ValueError(f"refusing unsafe path {rel!r}: it must be relative and stay inside {root}")
    # a lexical check: links the user placed inside a mirror or the data home are followed as they are
    return root.joinpath(*parts)


def sha256_of(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(_CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def _verify(path: Path, expected: str | None, what: str) -> None:
    if expected is None:
        return
    got = sha256_of(path)
    if got != expected:
        raise ChecksumError(
            f"{what} {path} has SHA-256 {got}, expected {expected}: the file is corrupt or a different version; "
            f"delete it and fetch it again"
        )


def find_local(file: RemoteFile, home: str | os.PathLike | None = None) -> Path | None:
    """The mirror or cached copy of ``file`` (verified), or ``None`` when neither exists."""
    root = mirror_root()
    if root is not None:
        p = safe_join(root, file.path)
        if p.is_file():
            _verify(p, file.expected_mirror_sha256, "mirror file")
            return p
    p = safe_join(data_home(home), file.path)
    if p.is_file():
        _verify(p, file.sha256, "cached file")
        return p
    return None


def _not_found(file: RemoteFile, home: Path, reason: str) -> DatasetNotFoundError:
    dest = safe_join(home, file.path)
    if file.url:
        how = f"download {file.url} and save it as {dest}"
    else:
        how = f"this file has no public download (see the dataset card); place it at {dest}"
    return DatasetNotFoundError(
        f"dataset file {file.path!r} is not available ({reason}). To fix: {how}, or set TSRNN_DATA_MIRROR to a "
        f"folder laid out like the shared mirror that holds {file.path}."
    )


def _urlopen(url: str, timeout: float = 60):
    return urllib.request.urlopen(url, timeout=timeout)  # noqa: S310 - URLs come from the registry


def download(file: RemoteFile, home: str | os.PathLike | None = None, progress: bool | None = None) -> Path:
    """Download ``file.url`` into the data home, verifying the checksum; return the final path.

    The bytes go to a temporary file next to the destination; only a verified file is renamed into place, and any
    failure removes the temporary file. ``progress``: show a tqdm bar (``None``: only on a terminal).
    """
    root = data_home(home)
    dest = safe_join(root, file.path)
    if not file.url:
        raise _not_found(file, root, "no download URL is known")
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".part-", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        h = hashlib.sha256()
        try:
            with os.fdopen(fd, "wb") as out, _urlopen(file.url) as resp:
                total = int(resp.headers.get("Content-Length") or 0) if hasattr(resp, "headers") else 0
                bar = None
                if progress is not False:
                    from tqdm.auto import tqdm

                    bar = tqdm(total=total or None, unit="B", unit_scale=True, desc=PurePosixPath(file.path).name,
                               disable=None if progress is None else False)
                for block in iter(lambda: resp.read(_CHUNK), b""):
                    out.write(block)
                    h.update(block)
                    if bar is not None:
                        bar.update(len(block))
                if bar is not None:
                    bar.close()
        except OSError as exc:  # URLError, timeouts, refused connections are OSErrors
            raise _not_found(file, root, f"download failed: {exc}") from exc
        if file.sha256 is not None and h.hexdigest() != file.sha256:
            raise ChecksumError(
                f"downloaded {file.url} has SHA-256 {h.hexdigest()}, expected {file.sha256}; nothing was kept in "
                f"{dest.parent}. The source may have changed: check the dataset card."
            )
        os.replace(tmp, dest)
    finally:
        if tmp.exists():
            tmp.unlink()
    return dest


def fetch(
    file: RemoteFile,
    home: str | os.PathLike | None = None,
    download_if_missing: bool = True,
    progress: bool | None = None,
) -> Path:
    """Local path of ``file``: the mirror copy, the cached copy, or a fresh verified download.

    Raises
    ------
    DatasetNotFoundError
        Not in the mirror nor the cache, and downloading is off or failed; the message says what to download
        and where to put it.
    ChecksumError
        A mirror, cached or downloaded file does not match its recorded SHA-256.
    """
    local = find_local(file, home)
    if local is not None:
        return local
    if not download_if_missing:
        raise _not_found(file, data_home(home), "not in the mirror nor the cache, and download_if_missing=False")
    return download(file, home, progress=progress)


def safe_extract(archive: str | os.PathLike, dest: str | os.PathLike, members: list[str] | None = None) -> list[Path]:
    """Extract a zip archive (all members, or the named ones) under ``dest``; refuse members that would escape it.

    Every member name is checked with :func:`safe_join` before anything is written, so one hostile name (absolute,
    with ``..``, a drive letter or a backslash) aborts the whole extraction with ``ValueError``.
    """
    dest = Path(dest)
    out = []
    with zipfile.ZipFile(archive) as zf:
        infos = [i for i in zf.infolist() if not i.is_dir()]
        if members is not None:
            wanted = set(members)
            infos = [i for i in infos if i.filename in wanted]
            missing = wanted - {i.filename for i in infos}
            if missing:
                raise DatasetNotFoundError(f"archive {archive} lacks member(s) {sorted(missing)}")
        targets = [(i, safe_join(dest, i.filename)) for i in infos]  # validate all before writing any
        for info, target in targets:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".part-", dir=target.parent)
            try:
                with zf.open(info) as src, os.fdopen(fd, "wb") as dst:
                    shutil.copyfileobj(src, dst)
                os.replace(tmp, target)
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
            out.append(target)
    return out
