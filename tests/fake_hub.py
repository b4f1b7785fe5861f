"""A stand-in for the Hub client (studio.hub's interface): records what a push or pull would send."""
import shutil
from pathlib import Path


class FakeHub:
    """Records every call a push or pull would make; serves downloads from a local folder."""

    def __init__(self, served: Path | None = None, files: list[str] | None = None):
        self.calls = []
        self.uploaded = {}
        self.served = served
        self.files = files

    def create_repo(self, repo_id, *, private, repo_type):
        self.calls.append(("create_repo", repo_id, private, repo_type))
        return f"https://huggingface.co/{repo_id}"

    def upload_folder(self, repo_id, folder, *, repo_type, commit_message):
        self.calls.append(("upload_folder", repo_id, repo_type, commit_message))
        self.uploaded = {p.name: p.read_bytes() for p in Path(folder).iterdir()}
        return f"https://huggingface.co/{repo_id}/commit/abc"

    def list_files(self, repo_id, *, repo_type):
        self.calls.append(("list_files", repo_id, repo_type))
        return self.files if self.files is not None else [p.name for p in self.served.iterdir()]

    def download(self, repo_id, local_dir, *, repo_type, allow_patterns):
        self.calls.append(("download", repo_id, repo_type, tuple(allow_patterns)))
        shutil.copytree(self.served, local_dir)
        return local_dir
