"""In-app fine-tuning: job specs and events, a job runner in a child process, personal models."""
