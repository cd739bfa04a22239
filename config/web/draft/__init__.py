"""A user's draft: edits, the view of it the pages show, the VIP list.

- ``edit``: Edits of a draft's YAML text at one place, leaving the rest of the text as written.
- ``view``: A user's draft as the API shows it, and the store's errors as API errors.
- ``vip``: VIP numbers imported from a CSV file, every row accounted for.
"""

