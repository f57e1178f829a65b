"""Reference code the hidden checks need beyond torch and torchvision, one module per day."""
