"""From a run's merged statistics to labelled xarray summaries and kept draws, and their export
formats (NetCDF, CSV, Zarr, Parquet)."""
