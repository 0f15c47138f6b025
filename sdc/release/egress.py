"""The egress folder: what leaves the TRE, written whole or not at all.

:class:`EgressFolder` writes the released files and the release summary into a
staging folder beside the target (``.<name>.sdc-partial``), each file created
new (never through a link, never over an existing file) and synced to disk,
then moves the staging folder into place in one step, refusing a target that
exists. While it works it holds an exclusive lock on the parent folder, so two
releases never write there at once.

The registry records a release before its folder is moved into place (see
:mod:`sdc.release.workflow`). A process killed between the two (only a kill
that cannot be caught: SIGINT and SIGTERM are held off there) leaves the
complete staging folder; the next release into the same target finds it and
:meth:`EgressFolder.recover` moves it into place if the registry recorded
exactly those files as released, or removes it if it did not.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import stat
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType

from sdc.exceptions import SdcInputError
from sdc.release.summary import SUMMARY

_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
_NEW = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
_RENAME_NOREPLACE = 1


def _bad(target: Path, why: str) -> SdcInputError:
    return SdcInputError(f"`--out` of `sdc release` must be {why}; got {str(target)!r}.")


def _file_name(path: str) -> str:
    """A released file's name: one plain component (output names cannot hold '/')."""
    if not path or "/" in path or "\\" in path or path in (".", "..") or "\0" in path:
        raise SdcInputError(f"a released file must be named by one plain name; got {path!r}.")
    return path


def _rename_noreplace(src: str, dst: str, dir_fd: int) -> None:
    """Rename ``src`` to ``dst`` (both in ``dir_fd``), failing if ``dst`` exists."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        fn = None
    if fn is not None:
        rc = fn(dir_fd, os.fsencode(src), dir_fd, os.fsencode(dst), _RENAME_NOREPLACE)
        if rc == 0:
            return
        err = ctypes.get_errno()
        if err not in (errno.ENOSYS, errno.EINVAL):
            raise OSError(err, os.strerror(err), dst)
    if os.path.lexists(os.path.join(f"/proc/self/fd/{dir_fd}", dst)):
        raise FileExistsError(errno.EEXIST, "exists", dst)
    os.rename(src, dst, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)


class EgressFolder:
    """The target egress folder of a release, locked while it is written.

    Use as a context manager; ``stage`` the files, then ``commit`` (or nothing is
    left: leaving the context without a commit removes the staging folder).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "egress"
    >>> with EgressFolder(target) as egress:
    ...     digests = egress.stage({"visits.csv": b"region,count\\nN,12\\n"})
    ...     egress.commit()
    >>> sorted(p.name for p in target.iterdir()), digests["visits.csv"][:8]
    (['visits.csv'], '7ad15e42')
    """

    def __init__(self, target: str | os.PathLike[str]) -> None:
        self.target = Path(target)
        name = self.target.name
        if not name or name in (".", "..") or name.startswith("."):
            raise _bad(self.target, "a folder name that does not start with a dot")
        parent = self.target.parent
        try:
            self._parent = os.open(parent, _DIR)
        except OSError as exc:
            raise _bad(self.target, f"in an existing folder ({exc.strerror})") from None
        self.partial = f".{name}.sdc-partial"
        self._staged = False
        self._committed = False
        try:
            import fcntl

            fcntl.flock(self._parent, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._parent)
            raise SdcInputError(
                f"another sdc release is writing into {str(parent)!r}; try again when it ends."
            ) from None
        except ImportError:  # pragma: no cover - no fcntl: no lock
            pass

    # -- state ---------------------------------------------------------------------------

    def exists(self) -> bool:
        """Whether the target exists (a folder, a file or a link)."""
        try:
            os.stat(self.target.name, dir_fd=self._parent, follow_symlinks=False)
        except FileNotFoundError:
            return False
        return True

    def pending(self) -> bool:
        """Whether a staging folder of an interrupted release is there."""
        try:
            info = os.stat(self.partial, dir_fd=self._parent, follow_symlinks=False)
        except FileNotFoundError:
            return False
        return stat.S_ISDIR(info.st_mode)

    def pending_files(self) -> dict[str, str]:
        """``{name: sha256}`` of the regular files of the staging folder (links refused)."""
        fd = os.open(self.partial, _DIR, dir_fd=self._parent)
        try:
            out = {}
            for name in os.listdir(fd):
                info = os.stat(name, dir_fd=fd, follow_symlinks=False)
                if not stat.S_ISREG(info.st_mode):
                    raise SdcInputError(f"the staging folder holds {name!r}, not a file.")
                f = os.open(name, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=fd)
                with os.fdopen(f, "rb") as fh:
                    out[name] = hashlib.sha256(fh.read()).hexdigest()
            return out
        finally:
            os.close(fd)

    def pending_request(self) -> str | None:
        """The request id the staging folder's release summary names, if it can be read."""
        try:
            fd = os.open(self.partial, _DIR, dir_fd=self._parent)
            try:
                f = os.open(SUMMARY, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=fd)
                with os.fdopen(f, "rb") as fh:
                    rid = json.loads(fh.read(1 << 20)).get("request_id")
            finally:
                os.close(fd)
        except (OSError, ValueError, AttributeError):
            return None
        return rid if isinstance(rid, str) else None

    def recover(self, released: Callable[[str], Mapping[str, str] | None]) -> str | None:
        """Finish or undo an interrupted release into this target.

        ``released(request_id)``: the ``{path: sha256}`` the registry recorded as
        released for that request, or None. If the staging folder holds exactly
        those files, it is moved into place (the release was recorded) and the
        request id is returned; otherwise it is removed (nothing was recorded).
        """
        if not self.pending():
            return None
        rid = self.pending_request()
        recorded = released(rid) if rid is not None else None
        if recorded is not None and not self.exists():
            try:
                same = self.pending_files() == dict(recorded)
            except (OSError, SdcInputError):
                same = False
            if same:
                _rename_noreplace(self.partial, self.target.name, self._parent)
                return rid
        self._remove_partial()
        return None

    # -- writing -------------------------------------------------------------------------

    def stage(self, files: Mapping[str, bytes]) -> dict[str, str]:
        """Write ``{name: bytes}`` into a new staging folder; ``{name: sha256}``."""
        if self.exists():
            raise _bad(self.target, "a folder that does not exist yet (it is never replaced)")
        if self.pending():
            raise SdcInputError(f"a staging folder {self.partial!r} is in the way; run the "
                                "release again to recover or remove it.")  # fmt: skip
        os.mkdir(self.partial, 0o700, dir_fd=self._parent)
        self._staged = True
        fd = os.open(self.partial, _DIR, dir_fd=self._parent)
        digests = {}
        try:
            for path, data in files.items():
                name = _file_name(path)
                f = os.open(name, _NEW, 0o644, dir_fd=fd)
                try:
                    view = memoryview(data)
                    while view:
                        view = view[os.write(f, view) :]
                    os.fsync(f)
                finally:
                    os.close(f)
                digests[name] = hashlib.sha256(data).hexdigest()
            os.fsync(fd)
        finally:
            os.close(fd)
        return digests

    def commit(self) -> None:
        """Move the staging folder into place (refused if the target appeared meanwhile)."""
        os.chmod(self.partial, 0o755, dir_fd=self._parent)
        _rename_noreplace(self.partial, self.target.name, self._parent)
        os.fsync(self._parent)
        self._committed = True

    def discard(self) -> None:
        """Remove the staging folder (nothing of it leaves)."""
        if self._staged and not self._committed:
            self._remove_partial()

    def _remove_partial(self) -> None:
        shutil.rmtree(self.partial, dir_fd=self._parent, ignore_errors=True)
        self._staged = False

    def close(self) -> None:
        if self._parent >= 0:
            os.close(self._parent)  # closing the folder releases its lock
            self._parent = -1

    def __enter__(self) -> EgressFolder:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            self.discard()
        finally:
            self.close()
