"""Input and output serializers, one module per endpoint group; explicit fields throughout."""
