"""What the model is fed: priors and scenarios (TOML under ``priors/``), calibrated posterior
samples, and the shipped historical datasets (``inputs/data``)."""
