"""Small helpers with no domain knowledge and no models, beneath every app."""
