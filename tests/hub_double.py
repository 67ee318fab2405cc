"""TEST DOUBLE of the Hugging Face Hub HTTP API -- this is NOT the Hugging Face Hub.

A small loopback HTTP server (stdlib ``http.server``) that implements the subset of the Hub HTTP API that
``huggingface_hub`` 2.4 calls for ``push_to_hub``, ``upload_folder``, ``hf_hub_download``, ``snapshot_download``
and ``from_pretrained``, so that the test suite can run the *real* client code end to end without the internet.
Repositories live in memory and are lost when the server stops. Xet storage is not implemented: clients must run
with ``HF_HUB_DISABLE_XET=1`` so that uploads go through the legacy LFS protocol (see ``tests/conftest_hub.py``).

Endpoints (``{t}`` is ``models``/``datasets``/``spaces``, ``{p}`` the URL prefix ``""``/``datasets/``/``spaces/``):

- ``GET  /api/whoami-v2``, ``POST /api/validate-yaml``, ``GET /api/agent-harnesses``
- ``POST /api/repos/create``, ``DELETE /api/repos/delete``
- ``GET  /api/{t}/{repo}`` and ``/api/{t}/{repo}/revision/{rev}`` (repo info, ``siblings``, ``sha``)
- ``GET  /api/{t}/{repo}/tree/{rev}[/{path}]`` (``recursive``), ``POST /api/{t}/{repo}/paths-info/{rev}``
- ``POST /api/{t}/{repo}/preupload/{rev}``, ``POST /api/{t}/{repo}/commit/{rev}`` (NDJSON, ``create_pr``)
- ``POST /api/{t}/{repo}/branch/{branch}``
- ``POST /{p}{repo}.git/info/lfs/objects/batch`` and the hrefs it hands out:
  ``PUT /_double/lfs/{oid}`` (upload), ``POST /_double/lfs/{oid}/verify``
- ``HEAD``/``GET /{p}{repo}/resolve/{rev}/{path}`` (``X-Repo-Commit``, ``ETag``, ``X-Linked-Etag``,
  ``X-Linked-Size``, ``Range``)

Errors carry the headers the client maps to exceptions (``X-Error-Code: RepoNotFound`` / ``RevisionNotFound`` /
``EntryNotFound``). Requests the double does not implement (or fails on) get a ``501`` and are recorded in
``HubDouble.failures``, so a test can tell "the double lacks an endpoint" from "the code under test is wrong".
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import itertools
import json
import re
import threading
import traceback
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

DEFAULT_USER = "user"
DEFAULT_TOKEN = "dummy-test-token"
LFS_SIZE_THRESHOLD = 10 * 1024 * 1024  # files at least this large are LFS whatever .gitattributes says
_LFS_PATTERNS = (
    "*.7z *.arrow *.bin *.bz2 *.ckpt *.ftz *.gz *.h5 *.joblib *.lfs.* *.mlmodel *.model *.msgpack *.npy *.npz"
    " *.onnx *.ot *.parquet *.pb *.pickle *.pkl *.pt *.pth *.rar *.safetensors saved_model/**/* *.tar.* *.tar"
    " *.tflite *.tgz *.wasm *.xz *.zip *.zst *tfevents*"
).split()
DEFAULT_GITATTRIBUTES = "".join(f"{p} filter=lfs diff=lfs merge=lfs -text\n" for p in _LFS_PATTERNS)
_KINDS = {"models": "model", "datasets": "dataset", "spaces": "space"}
_URL_PREFIXES = {"model": "", "dataset": "datasets/", "space": "spaces/"}


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def git_blob_oid(data: bytes) -> str:
    """The git object id of a blob (same as ``git hash-object``)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass(frozen=True)
class Blob:
    """A stored file. LFS files are identified by the sha256 of their content, as on the Hub."""

    data: bytes
    lfs: bool

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def pointer(self) -> bytes:
        return f"version https://git-lfs.github.com/spec/v1\noid sha256:{self.sha256}\nsize {len(self.data)}\n".encode()

    @property
    def oid(self) -> str:
        """Git blob id: of the LFS pointer file for LFS files, of the content otherwise."""
        return git_blob_oid(self.pointer if self.lfs else self.data)

    @property
    def etag(self) -> str:
        return self.sha256 if self.lfs else self.oid

    def entry(self, path: str) -> dict[str, Any]:
        """Tree / paths-info entry of this file."""
        info: dict[str, Any] = {"type": "file", "oid": self.oid, "size": len(self.data), "path": path}
        if self.lfs:
            info["lfs"] = {"oid": self.sha256, "size": len(self.data), "pointerSize": len(self.pointer)}
        return info


@dataclass
class Commit:
    oid: str
    title: str
    date: str
    parent: str | None
    files: dict[str, Blob]

    def folders(self) -> set[str]:
        return {"/".join(p.split("/")[:i]) for p in self.files for i in range(1, p.count("/") + 1)}

    def folder_entry(self, path: str) -> dict[str, Any]:
        listing = "".join(f"{p}:{b.oid}\n" for p, b in sorted(self.files.items()) if p.startswith(path + "/"))
        return {"type": "directory", "oid": git_blob_oid(listing.encode()), "size": 0, "path": path}


@dataclass
class Repo:
    repo_id: str
    repo_type: str
    private: bool
    created_at: str
    refs: dict[str, str] = field(default_factory=dict)
    commits: dict[str, Commit] = field(default_factory=dict)

    @property
    def url_path(self) -> str:
        return _URL_PREFIXES[self.repo_type] + self.repo_id

    def lookup(self, revision: str) -> Commit | None:
        return self.commits.get(self.refs.get(revision, revision))


@dataclass
class Request:
    method: str
    params: dict[str, str]
    query: dict[str, list[str]]
    headers: Message
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"{}")

    @property
    def token(self) -> str | None:
        auth = self.headers.get("Authorization") or ""
        return auth[len("Bearer ") :] if auth.startswith("Bearer ") else None

    def flag(self, name: str) -> bool:
        return self.query.get(name, ["false"])[0].lower() in ("1", "true")


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


class HubError(Exception):
    """An HTTP error answered the way the Hub does (``X-Error-Code`` / ``X-Error-Message`` + JSON body)."""

    def __init__(
        self, status: int, message: str, code: str | None = None, headers: dict[str, str] | None = None, **extra: Any
    ) -> None:
        super().__init__(message)
        body = {"error": message, **extra}
        self.response = _json(body, status, {"X-Error-Message": message, **(headers or {})})
        if code is not None:
            self.response.headers["X-Error-Code"] = code


def _json(obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(status, json.dumps(obj).encode(), {"Content-Type": "application/json", **(headers or {})})


_API_REPO = r"/api/(?P<kinds>models|datasets|spaces)/(?P<repo>[^/]+/[^/]+)"
_GIT_REPO = r"/(?:(?P<prefix>datasets|spaces)/)?(?P<repo>[^/]+(?:/[^/]+)?)"
_ROUTES: list[tuple[str, str, str]] = [
    ("GET", r"/api/whoami-v2", "whoami"),
    ("GET", r"/api/agent-harnesses", "agent_harnesses"),
    ("POST", r"/api/validate-yaml", "validate_yaml"),
    ("POST", r"/api/repos/create", "create_repo"),
    ("DELETE", r"/api/repos/delete", "delete_repo"),
    ("GET", _API_REPO + r"(?:/revision/(?P<rev>[^/]+))?", "repo_info"),
    ("GET", _API_REPO + r"/tree/(?P<rev>[^/]+)(?:/(?P<path>.+))?", "tree"),
    ("POST", _API_REPO + r"/paths-info/(?P<rev>[^/]+)", "paths_info"),
    ("POST", _API_REPO + r"/preupload/(?P<rev>[^/]+)", "preupload"),
    ("POST", _API_REPO + r"/commit/(?P<rev>[^/]+)", "commit"),
    ("POST", _API_REPO + r"/branch/(?P<rev>[^/]+)", "create_branch"),
    ("POST", _GIT_REPO + r"\.git/info/lfs/objects/batch", "lfs_batch"),
    ("PUT", r"/_double/lfs/(?P<oid>[0-9a-f]{64})", "lfs_upload"),
    ("POST", r"/_double/lfs/(?P<oid>[0-9a-f]{64})/verify", "lfs_verify"),
    ("GET HEAD", _GIT_REPO + r"/resolve/(?P<rev>[^/]+)/(?P<path>.+)", "resolve"),
]


class HubDouble:
    """In-memory TEST DOUBLE of the Hub HTTP API served on ``127.0.0.1:<free port>`` from a background thread.

    ``endpoint`` (alias ``url``) is the value to use as ``HF_ENDPOINT``. Write endpoints need ``Authorization:
    Bearer <token>``; reads of public repos need no token. ``requests`` logs ``(method, path)`` of every request.
    """

    def __init__(self, user: str = DEFAULT_USER, token: str = DEFAULT_TOKEN) -> None:
        self.user, self.token = user, token
        self.repos: dict[tuple[str, str], Repo] = {}
        self.lfs_objects: dict[str, bytes] = {}
        self.requests: list[tuple[str, str]] = []
        self.failures: list[str] = []
        self.hf_home: Path | None = None  # the fresh HF_HOME, set by the ``hub_double`` pytest fixture
        self._lock = threading.RLock()
        self._counter = itertools.count()
        self._routes = [(m, re.compile(p), getattr(self, "_api_" + name)) for m, p, name in _ROUTES]
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ----------------------------------------------------------------------------------------------- lifecycle
    def start(self) -> HubDouble:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.hub = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="hub-double", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> HubDouble:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def endpoint(self) -> str:
        assert self._server is not None, "HubDouble is not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    url = endpoint

    # ------------------------------------------------------------------------------------- inspection helpers
    def get_repo(self, repo_id: str, repo_type: str = "model") -> Repo:
        return self.repos[(repo_type, repo_id)]

    def get_commit(self, repo_id: str, revision: str = "main", repo_type: str = "model") -> Commit:
        commit = self.get_repo(repo_id, repo_type).lookup(revision)
        if commit is None:
            raise KeyError(f"No revision {revision!r} in {repo_type} repo {repo_id}")
        return commit

    def list_files(self, repo_id: str, revision: str = "main", repo_type: str = "model") -> list[str]:
        """Sorted paths of the files stored in ``repo_id`` at ``revision`` (``.gitattributes`` included)."""
        return sorted(self.get_commit(repo_id, revision, repo_type).files)

    def read_file(self, repo_id: str, path: str, revision: str = "main", repo_type: str = "model") -> bytes:
        return self.get_commit(repo_id, revision, repo_type).files[path].data

    def history(self, repo_id: str, revision: str = "main", repo_type: str = "model") -> list[Commit]:
        """Commits reachable from ``revision``, newest first."""
        repo, out = self.get_repo(repo_id, repo_type), []
        commit = repo.lookup(revision)
        while commit is not None:
            out.append(commit)
            commit = repo.commits.get(commit.parent) if commit.parent else None
        return out

    # ------------------------------------------------------------------------------------------------ dispatch
    def handle(self, method: str, raw_path: str, headers: Message, body: bytes) -> Response:
        split = urlsplit(raw_path)
        with self._lock:
            self.requests.append((method, split.path))
        for route_method, pattern, handler in self._routes:
            match = pattern.fullmatch(split.path)
            if method not in route_method.split() or match is None:
                continue
            params = {k: unquote(v) for k, v in match.groupdict().items() if v is not None}
            request = Request(method, params, parse_qs(split.query), headers, body)
            try:
                with self._lock:
                    return handler(request)
            except HubError as err:
                return err.response
            except Exception:
                return self._fail(f"{method} {split.path}: HubDouble crashed:\n{traceback.format_exc()}")
        return self._fail(f"{method} {split.path}: endpoint not implemented by the HubDouble")

    def _fail(self, message: str) -> Response:
        self.failures.append(message)
        return _json({"error": message}, 501, {"X-Error-Message": message.splitlines()[0]})

    # ------------------------------------------------------------------------------------------------ helpers
    def _repo(self, req: Request) -> Repo:
        repo_type = _KINDS[req.params.get("kinds") or req.params.get("prefix") or "models"]
        repo = self.repos.get((repo_type, req.params["repo"]))
        if repo is None or (repo.private and req.token != self.token):
            raise HubError(404, f"Repository Not Found for {req.params['repo']}", "RepoNotFound")
        return repo

    def _commit_at(self, repo: Repo, revision: str) -> Commit:
        commit = repo.lookup(revision)
        if commit is None:
            raise HubError(404, f"Invalid rev id: {revision}", "RevisionNotFound")
        return commit

    def _require_token(self, req: Request) -> None:
        if req.token != self.token:
            raise HubError(401, "Invalid credentials in Authorization header")

    def _new_commit(self, repo: Repo, parent: Commit | None, title: str, files: dict[str, Blob]) -> Commit:
        seed = f"{repo.repo_id}\n{parent.oid if parent else ''}\n{title}\n{next(self._counter)}\n{_now()}"
        commit = Commit(hashlib.sha1(seed.encode()).hexdigest(), title, _now(), parent and parent.oid, files)
        repo.commits[commit.oid] = commit
        return commit

    # ---------------------------------------------------------------------------------------- account & misc
    def _api_whoami(self, req: Request) -> Response:
        self._require_token(req)
        auth = {"type": "access_token", "accessToken": {"displayName": "hub-double", "role": "write"}}
        return _json(
            {"type": "user", "id": "0" * 24, "name": self.user, "fullname": "Test User", "orgs": [], "auth": auth}
        )

    def _api_agent_harnesses(self, req: Request) -> Response:
        return _json({"standardEnvVars": [], "harnesses": {}})

    def _api_validate_yaml(self, req: Request) -> Response:
        return _json({"errors": [], "warnings": []})

    # ---------------------------------------------------------------------------------------------- repos
    def _api_create_repo(self, req: Request) -> Response:
        self._require_token(req)
        payload = req.json()
        repo_id = f"{payload.get('organization') or self.user}/{payload['name']}"
        repo_type = payload.get("type") or "model"
        key = (repo_type, repo_id)
        url = f"{self.endpoint}/{_URL_PREFIXES[repo_type]}{repo_id}"
        if key in self.repos:
            raise HubError(409, "You already created this model repo", url=url)  # the client reads "url"
        repo = Repo(repo_id, repo_type, payload.get("visibility") == "private", _now())
        initial = self._new_commit(
            repo, None, "initial commit", {".gitattributes": Blob(DEFAULT_GITATTRIBUTES.encode(), False)}
        )
        repo.refs["main"] = initial.oid
        self.repos[key] = repo
        return _json({"url": url, "name": repo_id, "id": "0" * 24})

    def _api_delete_repo(self, req: Request) -> Response:
        self._require_token(req)
        payload = req.json()
        key = (payload.get("type") or "model", f"{payload.get('organization') or self.user}/{payload['name']}")
        if self.repos.pop(key, None) is None:
            raise HubError(404, f"Repository Not Found for {key[1]}", "RepoNotFound")
        return Response()

    def _api_repo_info(self, req: Request) -> Response:
        repo = self._repo(req)
        commit = self._commit_at(repo, req.params.get("rev", "main"))
        blobs = req.flag("blobs")
        siblings = [_sibling(p, commit.files[p]) if blobs else {"rfilename": p} for p in sorted(commit.files)]
        author, _ = repo.repo_id.split("/", 1)
        info = {"_id": "0" * 24, "id": repo.repo_id, "author": author, "sha": commit.oid, "private": repo.private}
        info |= {"gated": False, "disabled": False, "downloads": 0, "likes": 0, "tags": [], "siblings": siblings}
        return _json(info | {"createdAt": repo.created_at, "lastModified": commit.date})

    def _api_create_branch(self, req: Request) -> Response:
        self._require_token(req)
        repo = self._repo(req)
        if req.params["rev"] in repo.refs:
            raise HubError(409, f"Reference already exists: refs/heads/{req.params['rev']}")
        start = self._commit_at(repo, req.json().get("startingPoint") or "main")
        repo.refs[req.params["rev"]] = start.oid
        return _json({})

    # ---------------------------------------------------------------------------------------------- listing
    def _api_tree(self, req: Request) -> Response:
        repo = self._repo(req)
        commit = self._commit_at(repo, req.params["rev"])
        base = req.params.get("path", "").strip("/")
        prefix = base + "/" if base else ""
        if base and base not in commit.folders():
            raise HubError(404, f"Entry not found: {base}", "EntryNotFound", {"X-Repo-Commit": commit.oid})
        recursive = req.flag("recursive")
        paths = sorted(
            p
            for p in commit.folders() | set(commit.files)
            if p.startswith(prefix) and (recursive or "/" not in p[len(prefix) :])
        )
        return _json([_entry(commit, p) for p in paths])

    def _api_paths_info(self, req: Request) -> Response:
        repo = self._repo(req)
        commit = self._commit_at(repo, req.params["rev"])
        form = parse_qs(req.body.decode())
        if "json" in (req.headers.get("Content-Type") or ""):
            form = {"paths": list(req.json().get("paths", []))}
        known = commit.folders() | set(commit.files)
        return _json([_entry(commit, p.strip("/")) for p in form.get("paths", []) if p.strip("/") in known])

    # ---------------------------------------------------------------------------------------------- upload
    def _api_preupload(self, req: Request) -> Response:
        self._require_token(req)
        repo = self._repo(req)
        commit = self._commit_at(repo, req.params["rev"])
        files = []
        for item in req.json()["files"]:
            mode = "lfs" if _is_lfs(commit, item["path"], item["size"]) else "regular"
            remote = commit.files.get(item["path"])
            remote_oid = None if remote is None else (remote.sha256 if remote.lfs else remote.oid)
            files.append({"path": item["path"], "uploadMode": mode, "shouldIgnore": False, "oid": remote_oid})
        return _json({"files": files, "commitOid": commit.oid})

    def _api_lfs_batch(self, req: Request) -> Response:
        self._require_token(req)
        self._repo(req)
        objects = []
        for obj in req.json()["objects"]:
            entry = {"oid": obj["oid"], "size": obj["size"]}
            if obj["oid"] not in self.lfs_objects:
                href = f"{self.endpoint}/_double/lfs/{obj['oid']}"
                entry["actions"] = {"upload": {"href": href}, "verify": {"href": href + "/verify"}}
            objects.append(entry)
        return _json(
            {"transfer": "basic", "objects": objects}, headers={"Content-Type": "application/vnd.git-lfs+json"}
        )

    def _api_lfs_upload(self, req: Request) -> Response:
        if hashlib.sha256(req.body).hexdigest() != req.params["oid"]:
            raise HubError(400, "LFS upload: content does not match its sha256")
        self.lfs_objects[req.params["oid"]] = req.body
        return Response()

    def _api_lfs_verify(self, req: Request) -> Response:
        self._require_token(req)
        data = self.lfs_objects.get(req.params["oid"])
        if data is None or len(data) != req.json().get("size"):
            raise HubError(404, f"LFS object {req.params['oid']} was not uploaded")
        return _json({})

    def _api_commit(self, req: Request) -> Response:
        self._require_token(req)
        repo = self._repo(req)
        base = self._commit_at(repo, req.params["rev"])
        lines = [json.loads(line) for line in req.body.splitlines() if line.strip()]
        header = next((item["value"] for item in lines if item["key"] == "header"), {})
        if header.get("parentCommit") not in (None, base.oid):
            raise HubError(412, "A commit has happened since. Please refresh and try again.")
        files = self._apply_operations(dict(base.files), (item for item in lines if item["key"] != "header"))
        commit = self._new_commit(repo, base, header.get("summary") or "commit", files)
        branch, pr_url = req.params["rev"], None
        if req.flag("create_pr"):
            number = 1 + sum(ref.startswith("refs/pr/") for ref in repo.refs)
            branch, pr_url = f"refs/pr/{number}", f"{self.endpoint}/{repo.url_path}/discussions/{number}"
        elif branch not in repo.refs:
            raise HubError(400, f"Cannot commit to {branch}: not a branch")
        repo.refs[branch] = commit.oid
        url = f"{self.endpoint}/{repo.url_path}/commit/{commit.oid}"
        return _json({"success": True, "commitOid": commit.oid, "commitUrl": url, "pullRequestUrl": pr_url})

    def _apply_operations(self, files: dict[str, Blob], operations: Iterable[dict[str, Any]]) -> dict[str, Blob]:
        for op in operations:
            key, value = op["key"], op["value"]
            path = value["path"]
            if key == "file":
                files[path] = Blob(base64.b64decode(value["content"]), lfs=False)
            elif key == "lfsFile":
                if value["oid"] not in self.lfs_objects:
                    raise HubError(422, f"LFS object {value['oid']} for {path} was never uploaded")
                files[path] = Blob(self.lfs_objects[value["oid"]], lfs=True)
            elif key == "deletedFile":
                if files.pop(path, None) is None:
                    raise HubError(404, f"A file with this name doesn't exist: {path}", "EntryNotFound")
            elif key == "deletedFolder":
                files = {p: b for p, b in files.items() if not p.startswith(path.rstrip("/") + "/")}
            else:
                raise HubError(400, f"Unknown commit operation {key!r}")
        return files

    # --------------------------------------------------------------------------------------------- download
    def _api_resolve(self, req: Request) -> Response:
        repo = self._repo(req)
        commit = self._commit_at(repo, req.params["rev"])
        blob = commit.files.get(req.params["path"])
        headers = {"X-Repo-Commit": commit.oid}
        if blob is None:
            raise HubError(404, f"Entry not found: {req.params['path']}", "EntryNotFound", headers)
        headers |= {"ETag": f'"{blob.oid}"', "Accept-Ranges": "bytes", "Content-Type": "application/octet-stream"}
        if blob.lfs:
            headers |= {"X-Linked-Etag": f'"{blob.sha256}"', "X-Linked-Size": str(len(blob.data))}
        return _byte_range(blob.data, req.headers.get("Range"), headers)


def _is_lfs(commit: Commit, path: str, size: int) -> bool:
    """Upload mode as the Hub decides it: ``filter=lfs`` patterns of the repo's ``.gitattributes``, or size."""
    attributes = commit.files.get(".gitattributes")
    text = attributes.data.decode() if attributes else ""
    patterns = [line.split()[0] for line in text.splitlines() if "filter=lfs" in line]
    name = path.rsplit("/", 1)[-1]  # like git, a pattern without "/" matches the file name at any depth
    return size >= LFS_SIZE_THRESHOLD or any(fnmatch.fnmatchcase(path if "/" in p else name, p) for p in patterns)


def _sibling(path: str, blob: Blob) -> dict[str, Any]:
    sibling: dict[str, Any] = {"rfilename": path, "size": len(blob.data), "blobId": blob.oid}
    if blob.lfs:
        sibling["lfs"] = {"size": len(blob.data), "sha256": blob.sha256, "pointerSize": len(blob.pointer)}
    return sibling


def _entry(commit: Commit, path: str) -> dict[str, Any]:
    blob = commit.files.get(path)
    return blob.entry(path) if blob is not None else commit.folder_entry(path)


def _byte_range(data: bytes, range_header: str | None, headers: dict[str, str]) -> Response:
    """Serve ``data`` whole, or the single ``bytes=start-end`` / ``bytes=start-`` / ``bytes=-n`` range asked."""
    if not range_header:
        return Response(200, data, headers)
    unit, _, spec = range_header.partition("=")
    start_s, _, end_s = spec.strip().partition("-")
    size = len(data)
    if unit.strip() != "bytes" or "," in spec:
        return Response(200, data, headers)
    start, end = (size - int(end_s), size - 1) if not start_s else (int(start_s), int(end_s) if end_s else size - 1)
    start, end = max(start, 0), min(end, size - 1)
    if start > end:
        raise HubError(416, "Requested range not satisfiable", headers={"Content-Range": f"bytes */{size}"})
    return Response(206, data[start : end + 1], headers | {"Content-Range": f"bytes {start}-{end}/{size}"})


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _serve(self) -> None:
        hub: HubDouble = self.server.hub  # type: ignore[attr-defined]
        response = hub.handle(self.command, self.path, self.headers, self._read_body())
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = _serve

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while (size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)) > 0:
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline().strip():  # trailers
                pass
            return b"".join(chunks)
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def log_message(self, format: str, *args: Any) -> None:  # silence the default stderr access log
        pass


def push_folder(hub: HubDouble, repo_id: str, folder: str | Path, **upload_kwargs: Any) -> Any:
    """Push a saved directory (e.g. from ``save_pretrained``) to ``repo_id`` on the double with ``upload_folder``.

    Creates the repo if needed. Returns the ``CommitInfo``. Extra keyword arguments go to ``HfApi.upload_folder``.
    """
    from huggingface_hub import HfApi

    api = HfApi(endpoint=hub.endpoint, token=hub.token)
    repo_type = upload_kwargs.get("repo_type")
    api.create_repo(repo_id, repo_type=repo_type, exist_ok=True)
    return api.upload_folder(repo_id=repo_id, folder_path=str(folder), **upload_kwargs)
