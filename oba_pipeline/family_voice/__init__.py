"""What families say about their lives: instrument registry, scoring, reliable change, score bands,
rater gaps, and the outcome themes that put family voice next to service measures."""
