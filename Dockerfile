# syntax=docker/dockerfile:1
# The mcpauth gateway (cmd/mcpauth).
#
#   docker build -t mcpauth .                    # distroless: remote upstreams (url:) only
#   docker build -t mcpauth:node --target node . # with Node.js: stdio servers run with npx
#   docker run -p 8080:8080 -v $PWD/hub.yaml:/etc/mcpauth/hub.yaml:ro \
#     -e MCPAUTH_BASE_URL=https://mcp.example.com -e MCPAUTH_PROXY_SIGNING_KEY_FILE=/run/secrets/signing_key ... mcpauth
#
# The configuration must listen on 0.0.0.0 (listen: 0.0.0.0:8080) to be reachable from
# outside the container, and then set baseURL. Secrets come from the environment or
# files (the _FILE variables), never from the image.

FROM golang:1.26 AS build
WORKDIR /src
# The gateway is its own module (cmd/mcpauth/go.mod) that replaces the library with ../..
COPY go.mod go.sum ./
COPY cmd/mcpauth/go.mod cmd/mcpauth/go.sum ./cmd/mcpauth/
RUN cd cmd/mcpauth && go mod download
COPY . .
RUN cd cmd/mcpauth && CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/mcpauth .

# A local (stdio) MCP server is a child process of the gateway: command: npx (or node,
# uvx, ...) must exist in the image. Distroless has no Node.js, so stdio servers need a
# Node-based image such as this one (add Python/uv likewise for uvx servers).
FROM node:22-bookworm-slim AS node
COPY --from=build /out/mcpauth /usr/local/bin/mcpauth
USER node
WORKDIR /home/node
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/mcpauth"]
CMD ["serve", "--config", "/etc/mcpauth/hub.yaml"]

# The default image: distroless, non-root, for remote upstreams (url:) only.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/mcpauth /mcpauth
USER nonroot:nonroot
EXPOSE 8080
ENTRYPOINT ["/mcpauth"]
CMD ["serve", "--config", "/etc/mcpauth/hub.yaml"]
