from dsure_portal import create_app

app = create_app()
