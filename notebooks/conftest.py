"""nbval settings: compare only what is stable from run to run."""


def pytest_collectstart(collector):
    if collector.fspath and collector.fspath.ext == ".ipynb":
        # stderr carries progress bars and library warnings; widgets and HTML carry ids.
        collector.skip_compare += (
            "stderr",
            "text/html",
            "application/javascript",
            "application/vnd.jupyter.widget-view+json",
            "image/png",
            "application/pdf",
        )
