"""Research tools on top of the API: paired scenario comparison, Sobol' estimators and model
sensitivity, forecast cards, plots."""
