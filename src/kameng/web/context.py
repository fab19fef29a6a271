def site(request):
    return {"site_name": "卡盟 kameng"}
