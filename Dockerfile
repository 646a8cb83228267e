# Builds the huifang server; docker-compose.yml runs it against postgres:15.
FROM swift:6.1-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends libpq-dev pkg-config && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN swift build -c release --product huifang --static-swift-stdlib \
    && install -D .build/release/huifang /out/huifang

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends libpq5 ca-certificates curl \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/huifang /usr/local/bin/huifang
COPY sql /app/sql
ENV HUIFANG_SQL_DIR=/app/sql
EXPOSE 8080
ENTRYPOINT ["huifang"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8080"]
