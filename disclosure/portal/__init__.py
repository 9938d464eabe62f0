"""The public portal: published reports, their files, open data and statistics."""
