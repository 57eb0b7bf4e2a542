# The nostain server: pages, bundled TF.js models and the Hill fit. Slim: no TensorFlow in the image
# (inference runs in the user's browser). Build: docker build -t nostain .  Run: docker run -p 8000:8000 nostain
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    NOSTAIN_MODELS_DIR=/srv/nostain/models \
    NOSTAIN_STATIC_DIR=/srv/nostain/static \
    NOSTAIN_TEMPLATES_DIR=/srv/nostain/templates

WORKDIR /srv/nostain
COPY pyproject.toml README.md ./
COPY app ./app
COPY training ./training
RUN pip install --no-cache-dir . && rm -rf app training

COPY static ./static
COPY templates ./templates
COPY models ./models

RUN useradd --system --no-create-home nostain
USER nostain
EXPOSE 8000
HEALTHCHECK CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')"
CMD ["python", "-m", "uvicorn", "app.main:app", "--host", "0.0.0.0", "--port", "8000"]
