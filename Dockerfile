# The E-Code image: the server (`ecode serve`) and, in workspace pods on
# Kubernetes, the in-pod agent (`ecode sandbox-agent`), with the toolchains
# user code runs on. Build: docker build -t registry.example/ecode:TAG .
# (deploy/kubernetes/ecode.yaml names the image.)

FROM node:20-bookworm AS ui
WORKDIR /src/ui
COPY ui/package.json ui/package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY ui/ ./
RUN npm run build

FROM golang:1.26-bookworm AS server
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
COPY --from=ui /src/ui/dist ui/dist
RUN CGO_ENABLED=0 go build -tags embed -o /out/ecode ./cmd/ecode

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates git bubblewrap python3 nodejs npm sqlite3 postgresql-client \
 && rm -rf /var/lib/apt/lists/*
COPY --from=server /out/ecode /usr/local/bin/ecode
RUN useradd --system --uid 10001 --home-dir /home/ecode --create-home ecode
EXPOSE 5000 7071 7070
ENTRYPOINT ["ecode"]
CMD ["serve"]
