"""Lecture demonstrations and optimizer studies."""
