"""The local development server: the whole API on one port, AWS embedded (moto).

Not deployed: the cloud runs the same handlers behind API Gateway and Lambda.
"""
