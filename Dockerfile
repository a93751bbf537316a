# Two images, neither holding test or bench code:
#   quorumd (the default target, the last stage): one node per container,
#     configured by QUORUMD_* variables; the compiled src and routes, and bin.
#   demo-store (docker build --target demo-store): the demo data store that
#     docker-compose.yml runs beside the nodes, from scripts/demo-store.ts.
FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund

# The service: tsconfig.build.json compiles src and routes only, and copies
# the generated OpenAPI document (openapi.json, which routes/openapi.ts serves)
# into dist/.
FROM deps AS build
COPY tsconfig.json tsconfig.build.json openapi.json ./
COPY src src
COPY routes routes
RUN npx tsc -p tsconfig.build.json

# The demo store: scripts/demo-store.ts and what it imports (the model data
# log of test/kit, which the simulator and the chaos suite share), nothing else.
FROM build AS build-demo
COPY scripts scripts
COPY test/kit test/kit
RUN echo '{ "extends": "./tsconfig.build.json", "include": ["scripts/demo-store.ts"] }' > tsconfig.demo.json && \
  npx tsc -p tsconfig.demo.json

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM runtime AS demo-store
COPY --from=build-demo /app/dist/src dist/src
COPY --from=build-demo /app/dist/scripts dist/scripts
COPY --from=build-demo /app/dist/test/kit dist/test/kit
USER node
ENTRYPOINT ["node", "dist/scripts/demo-store.js"]

FROM runtime AS quorumd
COPY --from=build /app/dist/src dist/src
COPY --from=build /app/dist/routes dist/routes
COPY --from=build /app/dist/openapi.json dist/openapi.json
COPY bin bin
RUN mkdir -p /var/lib/quorumd && chown node:node /var/lib/quorumd
USER node
EXPOSE 7400
HEALTHCHECK --interval=5s --timeout=2s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:7400/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "--max-semi-space-size=2", "bin/quorumd.js"]
