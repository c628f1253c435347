"""Debian packages through apt, without changing the machine's apt configuration.

The guests are i386 while the host is usually amd64, whose package lists have
no i386 packages.  apt accepts another architecture and another list and cache
directory on its command line, so the builder keeps an i386 apt state of its
own in the image cache (`-o Dir::State::Lists=... -o Dir::Cache=...`) and
fetches with `apt-get download`, which needs no root and installs nothing.
The sources themselves (mirrors, proxies) are the machine's.

Host build tools (for the tiny kernel) are ordinary host packages: the builder
checks them with dpkg-query and installs what is missing as root or through
sudo, or says which command to run.
"""
import hashlib
import os
import re
import shutil
import subprocess
import time

from debian import deb822

from .errors import ImageError, StaleLists

LISTS_MAX_AGE = 7 * 24 * 3600     # refresh the i386 lists when they are older than a week

NO_APT = ("apt-get and apt-cache were not found: the guest images are made from Debian "
          "packages, so build them on Debian or Ubuntu (or copy a built image cache and "
          "point PYEMU_IMAGE_DIR at it)")

_NETWORK_ERRORS = ("Could not resolve", "Temporary failure resolving", "Could not connect",
                   "Unable to connect", "Connection failed", "Network is unreachable",
                   "Connection timed out", "No route to host")


def apt_available():
    return bool(shutil.which("apt-get") and shutil.which("apt-cache"))


def require_apt():
    if not apt_available():
        raise ImageError(NO_APT)


def deb_filename(package, version, arch):
    """The name apt-get download gives a package file (an epoch's ':' becomes %3a)."""
    return "%s_%s_%s.deb" % (package, version.replace(":", "%3a"), arch)


def _fields(paragraph):
    """A deb822 paragraph as a plain dict, a multi-line value's continuation lines
    without their leading space."""
    return {key: "\n".join(line.strip() for line in value.splitlines())
            for key, value in paragraph.items()}


def parse_records(text):
    """The records of apt-cache show output (deb822 paragraphs), as dicts."""
    return [_fields(p) for p in deb822.Deb822.iter_paragraphs(text.splitlines())]


def parse_record(text):
    """Fields of one apt-cache show record (continuation lines are joined)."""
    records = parse_records(text)
    return records[0] if records else {}


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class I386Apt:
    """apt-get / apt-cache on an i386 list directory of our own, under `state_dir`."""

    def __init__(self, state_dir, reporter):
        self.state = state_dir
        self.reporter = reporter
        self.lists = state_dir / "lists"
        self.cache = state_dir / "cache"
        self.refreshed = False        # apt-get update ran in this process

    def options(self):
        return ["-o", "APT::Architecture=i386", "-o", "APT::Architectures=i386",
                "-o", "Dir::State::Lists=%s" % self.lists, "-o", "Dir::Cache=%s" % self.cache,
                # Docker-style images switch apt's binary cache off; without it every
                # apt-cache call parses all the lists again (seconds instead of 0.1 s).
                "-o", "Dir::Cache::pkgcache=pkgcache.bin", "-o", "Dir::Cache::srcpkgcache=",
                "-q"]

    # -- lists --------------------------------------------------------------------------------
    def _package_lists(self):
        if not self.lists.is_dir():
            return []
        return [p for p in self.lists.iterdir() if "_binary-i386_Packages" in p.name]

    def lists_age(self):
        """Seconds since the lists were fetched, or None when there are none."""
        lists = self._package_lists()
        if not lists:
            return None
        return time.time() - max(p.stat().st_mtime for p in lists)

    def ensure_lists(self, refresh=False, allow_network=True):
        """Make sure there are i386 lists; fetch them when missing, old or asked for."""
        require_apt()
        age = self.lists_age()
        if age is not None and not refresh and (age < LISTS_MAX_AGE or not allow_network):
            return
        if not allow_network:
            raise ImageError("no i386 package lists yet: run `pyemu-images build` first")
        self.update()

    def update(self):
        require_apt()
        for d in (self.lists / "partial", self.cache / "archives" / "partial"):
            d.mkdir(parents=True, exist_ok=True)
        self.reporter.step("fetching Debian's i386 package lists")
        rc, tail = self.reporter.run(["apt-get"] + self.options() + ["update"],
                                     "apt-get update", check=False)
        self.refreshed = True
        if self._package_lists():
            if rc != 0:
                # One failing source (a mirror in sync, an unreachable extra repository)
                # should not stop a build that the other lists serve.
                failed = [line.split()[4] for line in tail
                          if line.startswith(("E: Failed to fetch ", "W: Failed to fetch "))
                          and len(line.split()) > 4]
                self.reporter.warn("%s could not be fetched; using the other package lists "
                                   "(details in %s)" % (failed[0] if failed else "some lists",
                                                        self.reporter.log_path))
            for p in self._package_lists():
                os.utime(p)         # apt keeps the server's time; our age is since the fetch
            return
        if any(e in line for line in tail for e in _NETWORK_ERRORS):
            raise ImageError("cannot reach Debian's package servers (no network?): apt-get update "
                             "failed", log=self.reporter.log_path, details=tail)
        raise ImageError("apt-get update gave no i386 package lists (are Debian or Ubuntu "
                         "sources configured in /etc/apt?)", log=self.reporter.log_path,
                         details=tail)

    # -- queries ------------------------------------------------------------------------------
    def _query(self, args):
        try:
            out = subprocess.run(["apt-cache"] + self.options() + args, capture_output=True,
                                 text=True, env=dict(os.environ, LC_ALL="C"))
        except OSError as e:
            raise ImageError("cannot run apt-cache: %s" % e.strerror) from None
        return out

    def show(self, *packages):
        """The candidate records of `packages` (Version, Size, SHA256, Architecture ...):
        one record, or a list of them for several packages (one apt-cache call)."""
        out = self._query(["show", "--no-all-versions"] + list(packages))
        records = {}
        for record in parse_records(out.stdout):
            if "Package" in record and "Version" in record:
                records.setdefault(record["Package"], record)
        missing = [p for p in packages if p not in records]
        if missing:
            raise (ImageError if self.refreshed else StaleLists)(
                "Debian package %s was not found in the i386 package lists%s"
                % (", ".join(missing), "" if self.refreshed else
                   " (try again with --refresh to fetch fresh lists)"))
        found = [records[p] for p in packages]
        return found[0] if len(found) == 1 else found

    def search_names(self, regex):
        """Package names matching `regex` (apt-cache search --names-only)."""
        out = self._query(["search", "--names-only", regex])
        if out.returncode != 0:
            raise ImageError("apt-cache search failed: %s" % (out.stderr.strip() or out.returncode))
        return sorted({line.split(" - ", 1)[0].strip() for line in out.stdout.splitlines()
                       if line.strip()})

    # -- download -----------------------------------------------------------------------------
    def download(self, package, record, dest_dir):
        """The .deb of `package` at the version of `record`, in dest_dir; a file kept
        from an earlier build is reused when its SHA256 matches."""
        version, arch = record["Version"], record.get("Architecture", "i386")
        target = dest_dir / deb_filename(package, version, arch)
        expect = record.get("SHA256")
        if target.exists() and (not expect or sha256_file(target) == expect):
            self.reporter.step("using the downloaded %s" % target.name)
            return target
        size = int(record.get("Size", "0") or 0)
        work = dest_dir / (".partial-%s-%d" % (package, os.getpid()))
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)

        def poll():
            done = sum(p.stat().st_size for p in work.iterdir() if p.is_file())
            return "%.1f / %.1f MB" % (done / 1e6, size / 1e6) if size else "%.1f MB" % (done / 1e6)

        self.reporter.step("downloading %s %s (%.1f MB)" % (package, version, size / 1e6))
        try:
            rc, tail = self.reporter.run(["apt-get"] + self.options() +
                                         ["download", "%s=%s" % (package, version)],
                                         "downloading %s" % package, cwd=work, poll=poll,
                                         check=False)
            got = [p for p in work.iterdir() if p.name.endswith(".deb")]
            if rc != 0 or len(got) != 1:
                if any(e in line for line in tail for e in _NETWORK_ERRORS):
                    raise ImageError("cannot download %s %s from Debian's servers (no network?)"
                                     % (package, version), log=self.reporter.log_path,
                                     details=tail)
                raise (ImageError if self.refreshed else StaleLists)("apt-get download %s=%s failed%s" % (
                    package, version, "" if self.refreshed else
                    " (the lists may be out of date: try again with --refresh)"),
                    log=self.reporter.log_path, details=tail)
            if expect and sha256_file(got[0]) != expect:
                raise ImageError("%s: SHA256 differs from the package list's" % got[0].name)
            os.replace(got[0], target)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return target


# -- host packages ----------------------------------------------------------------------------
def missing_host_packages(packages):
    """The packages of `packages` that dpkg does not have installed on the host."""
    if not shutil.which("dpkg-query"):
        require_apt()
        raise ImageError("dpkg-query was not found: " + NO_APT)
    out = subprocess.run(["dpkg-query", "-W", "-f=${Package} ${db:Status-Status}\n"] + list(packages),
                         capture_output=True, text=True, env=dict(os.environ, LC_ALL="C"))
    installed = set()
    for line in out.stdout.splitlines():
        name, _, status = line.partition(" ")
        if status.strip() == "installed":
            installed.add(name.split(":")[0])
    return [p for p in packages if p not in installed]


def install_host_packages(packages, reporter):
    """apt-get install `packages` as root, through sudo, or fail saying how."""
    command = ["apt-get", "install", "-y", "--no-install-recommends"] + list(packages)
    if os.geteuid() == 0:
        prefix = []
    elif shutil.which("sudo"):
        # Without a terminal sudo cannot ask for a password: -n fails instead of hanging.
        prefix = ["sudo"] if os.isatty(0) else ["sudo", "-n"]
    else:
        raise ImageError("the build needs these Debian packages: %s; install them as root with: "
                         "apt-get install -y %s" % (" ".join(packages), " ".join(packages)))
    require_apt()
    env = {"DEBIAN_FRONTEND": "noninteractive"}
    reporter.step("installing build tools: %s" % " ".join(packages))
    rc, tail = reporter.run(prefix + command, "apt-get install", env=env, check=False)
    if rc != 0 and any("Unable to locate package" in line or "has no installation candidate" in line
                       for line in tail):
        reporter.run(prefix + ["apt-get", "update", "-q"], "apt-get update", env=env, check=False)
        rc, tail = reporter.run(prefix + command, "apt-get install", env=env, check=False)
    if rc != 0:
        raise ImageError("installing %s failed; install them with: sudo apt-get install -y %s"
                         % (" ".join(packages), " ".join(packages)), log=reporter.log_path,
                         details=tail)


def require_host_packages(packages, reporter):
    missing = missing_host_packages(packages)
    if missing:
        install_host_packages(missing, reporter)


_ABI = re.compile(r"^linux-image-6\.1\.0-(\d+)-686-unsigned$")


def newest_abi_package(names):
    """Of Debian's linux-image-6.1.0-NN-686-unsigned names, the one with the highest NN."""
    found = [(int(m.group(1)), n) for n in names for m in [_ABI.match(n)] if m]
    return max(found)[1] if found else None
