"""ipywidgets components for the Voila apps: each takes what it shows as arguments and calls the package."""
