"""`spse-exporter report`: the incident report (Berita Acara Gangguan) and public notice from Prometheus data."""
