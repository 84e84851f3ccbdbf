"""Settings of the benches' server: the app's own, with bench/bench_urls.py as the URLconf (the
app's routes plus the baselines: a bare timeline view and a one-INSERT POST view)."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.bench_urls"
