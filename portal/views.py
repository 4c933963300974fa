from django.contrib.auth import views as auth_views
from django.http import HttpResponse, JsonResponse


def home(request):
    return HttpResponse("Portail carte grise")


def healthz(request):
    return JsonResponse({"status": "ok"})


def space(request):
    return HttpResponse("espace")


class LoginView(auth_views.LoginView):
    pass


class LogoutView(auth_views.LogoutView):
    pass
