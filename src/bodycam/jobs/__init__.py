"""Background jobs: the Job catalogue (models), handlers by kind (registry), submit/run
(services) and the Celery app that carries them to workers (celery_app)."""
