"""Optimizers, each written as its lecture formula."""
