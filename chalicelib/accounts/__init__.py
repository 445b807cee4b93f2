"""What journeys need to know about an account: the signed-in caller (member or staff),
credentials under the lockout rules, second factors, contact binding, sessions, erasure.

Journeys (``chalicelib.flows``) build on these modules; these never import a journey.
"""
