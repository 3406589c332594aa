"""PINs: issuing, verifying and ending one-time letter PINs; the django-otp device for member sessions."""
