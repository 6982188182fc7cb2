"""The value-chain model: coordinates, the parameter registry, one module per mechanism
(demand, chemistry, pipeline, prices, costs, ramp, recycling, trade), the outputs it reports,
and the year step scanned over the horizon. Pure JAX functions of parameters and random
numbers; no I/O."""
