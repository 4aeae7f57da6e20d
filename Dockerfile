# Runtime image for the operator. Node 24 LTS runs the TypeScript sources directly (type stripping).
FROM node:24.21.0-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --ignore-scripts
COPY src ./src
COPY bin ./bin
COPY crds ./crds
USER node
ENTRYPOINT ["node", "bin/apprunner-net.js"]
CMD ["run"]
