# Build stage: install every workspace and build the web app.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY common/package.json common/
COPY server/package.json server/
COPY web/package.json web/
COPY hook/package.json hook/
COPY e2e/package.json e2e/
RUN npm ci --ignore-scripts
COPY . .
RUN npm run build --workspaces --if-present

# Runtime stage: the server and what it imports, talking to MongoDB through MONGODB_URI.
FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/common common
COPY --from=build /app/server/package.json server/
COPY --from=build /app/server/src server/src
COPY --from=build /app/web/dist web/dist
COPY --from=build /app/web/package.json web/
USER node
EXPOSE 8000
CMD ["node", "--import", "tsx", "server/src/main.ts"]
