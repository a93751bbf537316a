# quorumd image: one node per container, configured by QUORUMD_* variables.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY src src
COPY routes routes
COPY scripts scripts
COPY bench bench
COPY test test
RUN npx tsc -p tsconfig.json

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund
COPY --from=build /app/dist/src dist/src
COPY --from=build /app/dist/routes dist/routes
COPY --from=build /app/dist/scripts dist/scripts
COPY bin bin
RUN mkdir -p /var/lib/quorumd && chown node:node /var/lib/quorumd
USER node
EXPOSE 7400
HEALTHCHECK --interval=5s --timeout=2s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:7400/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "--max-semi-space-size=2", "bin/quorumd.js"]
