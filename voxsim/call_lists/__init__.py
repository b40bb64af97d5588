"""Call lists: the CSV rows of a list in and out (`rows`) and the dispatcher that runs its tasks (`dispatcher`).

The lists and their tasks live in the store (voxsim/store/call_lists.py); the Management API's CallLists
methods are in mock_api/methods/call_lists.py, the scenarios' `CallList` in voxsim/runtime/call_list.py and
voxsim/runtime/shim/call_list.js. docs/call-lists.md describes the whole.
"""
