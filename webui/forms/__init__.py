"""Forms of the browser UI: model forms, so the models' validators and `clean()` refuse bad input here too."""
