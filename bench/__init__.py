"""Side-by-side benchmark of spse-exporter and blackbox_exporter on a local fake world (`python3 -m bench.run`)."""
