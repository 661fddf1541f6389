"""The discovery steps P1-P9 (discovery report §15), one module per concern."""
