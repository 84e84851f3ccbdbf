"""The static files' storage (settings.STORAGES["staticfiles"]): WhiteNoise's compressed,
content-hashed names (app.3f2a9c1e.css, with .gz beside it) wherever `collectstatic` made
its manifest, as the Dockerfile does at build time, so browsers may keep each file for a year
(WhiteNoise marks hashed names immutable) and a new release is fetched at once.

Where no manifest was made (`make run`, the tests, the fault tests' gunicorn, none of which
run collectstatic), the plain names are used and WhiteNoise serves them from the finders
(WHITENOISE_USE_FINDERS), as before. Once a manifest exists it is strict: a name missing
from it is an error, as Django's own ManifestStaticFilesStorage has it, never a silent
fallback in production. tests/test_static_files.py runs collectstatic and checks both."""

from __future__ import annotations

from whitenoise.storage import CompressedManifestStaticFilesStorage


class HashedWhereCollected(CompressedManifestStaticFilesStorage):
    _manifest_found = False

    @property
    def manifest_found(self) -> bool:
        # Looked for until found (one stat per name until then), and then read: the storage
        # may have been made before collectstatic wrote the manifest (collectstatic's own).
        if not self._manifest_found and self.manifest_storage.exists(self.manifest_name):
            self.hashed_files, self.manifest_hash = self.load_manifest()
            self._manifest_found = True
        return self._manifest_found

    def stored_name(self, name: str) -> str:
        if not self.manifest_found:
            return name
        return str(super().stored_name(name))
