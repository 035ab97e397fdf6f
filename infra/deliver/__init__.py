"""Deliveries of a Plan: local Docker host, EC2 GPU host, docker-compose file. None re-derives the plan."""
