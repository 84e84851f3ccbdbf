from ninja import NinjaAPI

api = NinjaAPI(title="Evidence Locker API", version="1")
