// The hand-written OpenAPI 3 document of `otto serve` (served at /openapi.json). Every route of RouteTable is here with
// its parameters, bodies, answers and errors; OpenAPIDocumentTests checks the two agree and schemathesis checks the
// server against it.
extension OpenAPIDocument {
    /// The document's JSON text.
    static let text = #"""
{
  "openapi": "3.0.3",
  "info": {
    "title": "otto API",
    "version": "1.0.0",
    "description": "The HTTP API of `otto serve`: inventory hosts, zone nameservers and records written as desired state (source=api, validated exactly like YAML, read-only where YAML defines them), site walks, plans, applies and status. Every error is JSON `{\"error\": {\"code\", \"message\", \"details\"?}}`; a route called with a method it does not take answers 405 with `Allow`. See docs/api.md."
  },
  "servers": [
    {
      "url": "/"
    }
  ],
  "security": [
    {
      "bearer": []
    },
    {
      "basic": []
    }
  ],
  "paths": {
    "/inv": {
      "get": {
        "summary": "List inventory hosts (YAML and API)",
        "operationId": "listInventory",
        "responses": {
          "200": {
            "description": "Every host",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Inventory"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/E400"
          },
          "401": {
            "$ref": "#/components/responses/E401"
          },
          "403": {
            "$ref": "#/components/responses/E403"
          }
        }
      }
    },
    "/inv/{item}": {
      "parameters": [
        {
          "name": "item",
          "in": "path",
          "required": true,
          "description": "Host name: letters, digits, `.`, `-`, `_`, starting with a letter or digit",
          "schema": {
            "type": "string",
            "minLength": 1
          }
        }
      ],
      "get": {
        "summary": "One inventory host",
        "operationId": "getHost",
        "responses": {
          "200": {
            "description": "The host",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Host"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/E400"
          },
          "401": {
            "$ref": "#/components/responses/E401"
          },
          "403": {
            "$ref": "#/components/responses/E403"
          },
          "404": {
            "$ref": "#/components/responses/E404"
          }
        }
      },
      "post": {
        "summary": "Create or replace a host over the API (source=api)",
        "operationId": "postHost",
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/HostInput"
              }
            }
          }
        },
        "responses": {
          "200": {
            "description": "Replaced",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Host"
                }
              }
            }
          },
          "201": {
            "description": "Created",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Host"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/E400"
          },
          "401": {
            "$ref": "#/components/responses/E401"
          },
          "403": {
            "$ref": "#/components/responses/E403"
          },
          "409": {
            "$ref": "#/components/responses/E409"
          },
          "413": {
            "$ref": "#/components/responses/E413"
          },
          "415": {
            "$ref": "#/components/responses/E415"
          },
          "422": {
            "$ref": "#/components/responses/E422"
          },
          "503": {
            "$ref": "#/components/responses/E503"
          }
        }
      },
      "delete": {
        "summary": "Delete a host created over the API",
        "operationId": "deleteHost",
        "responses": {
          "204": {
            "description": "Deleted"
          },
          "400": {
            "$ref": "#/components/responses/E400"
          },
          "401": {
            "$ref": "#/components/responses/E401"
          },
          "403": {
            "$ref": "#/components/responses/E403"
          },
          "404": {
            "$ref": "#/components/responses/E404"
          },
          "409": {
            "$ref": "#/components/responses/E409"
          },
          "422": {
            "$ref": "#/components/responses/E422"
          },
          "503": {
            "$ref": "#/components/responses/E503"
          }
        }
      }
    },
    "/dom/ns/{domain}": {
      "parameters": [
        {
          "name": "domain",
          "in": "path",
          "required": true,
          "description": "Domain (the zone without its trailing dot); case and a trailing dot are ignored",
          "schema": {
            "type": "string",
            "minLength": 1
          }
        }
      ],
      "get": {
        "summary": "A zone's nameservers (YAML or API)",
        "operationId": "getNameservers",
        "responses": {
          "200": {
            "description": "The nameservers",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Nameservers"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/E400"
          },
          "401": {
            "$ref": "#/components/responses/E401"
          },
          "403": {
            "$ref": "#/components/responses/E403"
          },
          "404": {
            "$ref": "#/components/responses/E404"
          }
        }
      },
      "post": {
        "summary": "Set a zone's nameservers over the API",
        "operationId": "setNameservers",
        "parameters": [
          {
            "name": "ns",
            "in": "query",
            "required": true,
            "description": "Nameservers, comma-separated: `ns1.example.net,ns2.example.net` (relative names get the zone appended)",
            "schema": {
              "type": "string"
            }
          },
          {
            "name": "provider",
            "in": "query",
            "required": false,
            "description": "The DNS provider (an inventory provider name) serving a new zone; default: the provider the zone's other API item uses, else the only DNS-capable provider in inventory",
            "schema": {
              "type": "string"
            }
          }
        ],
        "responses": {
          "200": {
            "description": "Replaced",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Nameservers"
                }
              }
            }
          },
          "201": {
            "description": "Created",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Nameservers"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/E400"
          },
          "401": {
            "$ref": "#/components/responses/E401"
          },
          "403": {
            "$ref": "#/components/responses/E403"
          },
          "409": {
            "$ref": "#/components/responses/E409"
          },
          "422": {
            "$ref": "#/components/responses/E422"
          },
          "503": {
            "$ref": "#/components/responses/E503"
          }
        }
      },
      "delete": {
        "summary": "Remove the nameservers set over the API",
        "operationId": "deleteNameservers",
        "responses": {
          "204": {
            "description": "Deleted"
          },
          "400": {
            "$ref": "#/components/responses/E400"
          },
          "401": {
            "$ref": "#/components/responses/E401"
          },
          "403": {
            "$ref": "#/components/responses/E403"
          },
          "404": {
            "$ref": "#/components/responses/E404"
          },
          "409": {
            "$ref": "#/components/responses/E409"
          },
          "422": {
            "$ref": "#/components/responses/E422"
          },
          "503": {
            "$ref": "#/components/responses/E503"
          }
        }
      }
    },
    "/dom/dns/{domain}": {
      "parameters": [
        {
          "name": "domain",
          "in": "path",
          "required": true,
          "description": "Domain (the zone without its trailing dot); case and a trailing dot are ignored",
          "schema": {
            "type": "string",
            "minLength": 1
          }
        }
      ],
      "get": {
        "summary": "A zone's records (YAML or API)",
        "operationId": "getRecords",
        "responses": {
          "200": {
            "description": "The records",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Records"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/E400"
          },
          "401": {
            "$ref": "#/components/responses/E401"
          },
          "403": {
            "$ref": "#/components/responses/E403"
          },
          "404": {
            "$ref": "#/components/responses/E404"
          }
        }
      },
      "put": {
        "summary": "Set a zone's records over the API: a JSON body replaces them all; `?rec=` sets the rrsets it names and keeps the others",
        "operationId": "putRecords",
        "parameters": [
          {
            "name": "rec",
            "in": "query",
            "required": false,
            "description": "`NAME [TTL] TYPE VALUE`, e.g. `www A 192.0.2.10`, `@ MX 10 mail`, `www 60 A 192.0.2.11`; repeat for more values or rrsets. Not together with a body.",
            "schema": {
              "type": "array",
              "items": {
                "type": "string"
              }
            },
            "style": "form",
            "explode": true
          },
          {
            "name": "provider",
            "in": "query",
            "required": false,
            "description": "The DNS provider (an inventory provider name) serving a new zone; default: the provider the zone's other API item uses, else the only DNS-capable provider in inventory",
            "schema": {
              "type": "string"
            }
          }
        ],
        "requestBody": {
          "required": false,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/RecordsInput"
              }
            }
          },
          "description": "Every record of the zone, as in a site's `dns:` (`ttl` is the default TTL). Not together with `?rec=`."
        },
        "responses": {
          "200": {
            "description": "Replaced",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Records"
                }
              }
            }
          },
          "201": {
            "description": "Created",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Records"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/E400"
          },
          "401": {
            "$ref": "#/components/responses/E401"
          },
          "403": {
            "$ref": "#/components/responses/E403"
          },
          "409": {
            "$ref": "#/components/responses/E409"
          },
          "413": {
            "$ref": "#/components/responses/E413"
          },
          "415": {
            "$ref": "#/components/responses/E415"
          },
          "422": {
            "$ref": "#/components/responses/E422"
          },
          "503": {
            "$ref": "#/components/responses/E503"
          }
        }
      },
      "delete": {
        "summary": "Remove the zone's API records, or only the rrsets `?rec=NAME TYPE` names",
        "operationId": "deleteRecords",
        "parameters": [
          {
            "name": "rec",
            "in": "query",
            "required": false,
            "description": "`NAME TYPE`, e.g. `www A`; repeatable",
            "schema": {
              "type": "array",
              "items": {
                "type": "string"
              }
            },
            "style": "form",
            "explode": true
          }
        ],
        "responses": {
          "204": {
            "description": "Deleted"
          },
          "400": {
            "$ref": "#/components/responses/E400"
          },
          "401": {
            "$ref": "#/components/responses/E401"
          },
          "403": {
            "$ref": "#/components/responses/E403"
          },
          "404": {
            "$ref": "#/components/responses/E404"
          },
          "409": {
            "$ref": "#/components/responses/E409"
          },
          "422": {
            "$ref": "#/components/responses/E422"
          },
          "503": {
            "$ref": "#/components/responses/E503"
          }
        }
      }
    },
    "/site/walk/": {
      "get": {
        "summary": "The most recent walks of every site (at most 50)",
        "operationId": "recentWalks",
        "responses": {
          "200": {
            "description": "Walks, newest first",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/WalkList"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/E400"
          },
          "401": {
            "$ref": "#/components/responses/E401"
          },
          "403": {
            "$ref": "#/components/responses/E403"
          },
          "502": {
            "$ref": "#/components/responses/E502"
          }
        }
      }
    },
    "/site/walk/{site}/": {
      "parameters": [
        {
          "name": "site",
          "in": "path",
          "required": true,
          "description": "A site defined in sites/",
          "schema": {
            "type": "string",
            "minLength": 1
          }
        }
      ],
      "get": {
        "summary": "A site's walk ids, its last walk and its walkers",
        "operationId": "siteWalks",
        "responses": {
          "200": {
            "description": "The site's walks",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/SiteWalks"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/E400"
          },
          "401": {
            "$ref": "#/components/responses/E401"
          },
          "403": {
            "$ref": "#/components/responses/E403"
          },
          "404": {
            "$ref": "#/components/responses/E404"
          },
          "502": {
            "$ref": "#/components/responses/E502"
          }
        }
      }
    },
    "/site/walk/{site}/{walkid}": {
      "parameters": [
        {
          "name": "site",
          "in": "path",
          "required": true,
          "description": "A site defined in sites/",
          "schema": {
            "type": "string",
            "minLength": 1
          }
        },
        {
          "name": "walkid",
          "in": "path",
          "required": true,
          "description": "A walk id",
          "schema": {
            "type": "string",
            "minLength": 1
          }
        }
      ],
      "get": {
        "summary": "One walk with its pages and broken links",
        "operationId": "getWalk",
        "responses": {
          "200": {
            "description": "The walk",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/WalkReport"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/E400"
          },
          "401": {
            "$ref": "#/components/responses/E401"
          },
          "403": {
            "$ref": "#/components/responses/E403"
          },
          "404": {
            "$ref": "#/components/responses/E404"
          },
          "502": {
            "$ref": "#/components/responses/E502"
          }
        }
      }
    },
    "/site/walk/{site}": {
      "parameters": [
        {
          "name": "site",
          "in": "path",
          "required": true,
          "description": "A site defined in sites/",
          "schema": {
            "type": "string",
            "minLength": 1
          }
        }
      ],
      "put": {
        "summary": "Schedule walks of a site over the API",
        "operationId": "scheduleWalks",
        "parameters": [
          {
            "name": "params",
            "in": "query",
            "required": true,
            "description": "`KEY=VALUE` pairs separated by `;` (lists by `,`), keys as a site's `walk:`: `every=10m;depth=2;max_pages=200;allow=cdn.example.com;start=http://example.com/`; omitted keys take the defaults",
            "schema": {
              "type": "string"
            }
          }
        ],
        "responses": {
          "200": {
            "description": "The walker",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Walker"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/E400"
          },
          "401": {
            "$ref": "#/components/responses/E401"
          },
          "403": {
            "$ref": "#/components/responses/E403"
          },
          "404": {
            "$ref": "#/components/responses/E404"
          },
          "409": {
            "$ref": "#/components/responses/E409"
          },
          "422": {
            "$ref": "#/components/responses/E422"
          },
          "502": {
            "$ref": "#/components/responses/E502"
          }
        }
      },
      "delete": {
        "summary": "Remove the walkers scheduled over the API",
        "operationId": "unscheduleWalks",
        "responses": {
          "204": {
            "description": "Removed"
          },
          "400": {
            "$ref": "#/components/responses/E400"
          },
          "401": {
            "$ref": "#/components/responses/E401"
          },
          "403": {
            "$ref": "#/components/responses/E403"
          },
          "404": {
            "$ref": "#/components/responses/E404"
          },
          "409": {
            "$ref": "#/components/responses/E409"
          },
          "502": {
            "$ref": "#/components/responses/E502"
          }
        }
      }
    },
    "/v1/plan": {
      "post": {
        "summary": "Refresh and plan (changes nothing; holds the state lock while it runs)",
        "operationId": "plan",
        "requestBody": {
          "required": false,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/PlanRequest"
              }
            }
          }
        },
        "responses": {
          "200": {
            "description": "The plan",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Plan"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/E400"
          },
          "401": {
            "$ref": "#/components/responses/E401"
          },
          "403": {
            "$ref": "#/components/responses/E403"
          },
          "409": {
            "$ref": "#/components/responses/E409"
          },
          "413": {
            "$ref": "#/components/responses/E413"
          },
          "415": {
            "$ref": "#/components/responses/E415"
          },
          "422": {
            "$ref": "#/components/responses/E422"
          },
          "502": {
            "$ref": "#/components/responses/E502"
          }
        }
      }
    },
    "/v1/apply": {
      "post": {
        "summary": "Start an apply; follow it at /v1/runs/{id}",
        "operationId": "apply",
        "requestBody": {
          "required": false,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/ApplyRequest"
              }
            }
          }
        },
        "responses": {
          "202": {
            "description": "Started",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Run"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/E400"
          },
          "401": {
            "$ref": "#/components/responses/E401"
          },
          "403": {
            "$ref": "#/components/responses/E403"
          },
          "409": {
            "$ref": "#/components/responses/E409"
          },
          "413": {
            "$ref": "#/components/responses/E413"
          },
          "415": {
            "$ref": "#/components/responses/E415"
          },
          "422": {
            "$ref": "#/components/responses/E422"
          },
          "502": {
            "$ref": "#/components/responses/E502"
          }
        }
      }
    },
    "/v1/runs/{id}": {
      "parameters": [
        {
          "name": "id",
          "in": "path",
          "required": true,
          "description": "Run id",
          "schema": {
            "type": "string",
            "minLength": 1
          }
        }
      ],
      "get": {
        "summary": "A run with its events and outcome",
        "operationId": "getRun",
        "responses": {
          "200": {
            "description": "The run",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Run"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/E400"
          },
          "401": {
            "$ref": "#/components/responses/E401"
          },
          "403": {
            "$ref": "#/components/responses/E403"
          },
          "404": {
            "$ref": "#/components/responses/E404"
          },
          "502": {
            "$ref": "#/components/responses/E502"
          }
        }
      }
    },
    "/v1/status": {
      "get": {
        "summary": "What exists and how it compares with the desired state",
        "operationId": "status",
        "responses": {
          "200": {
            "description": "Status",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Status"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/E400"
          },
          "401": {
            "$ref": "#/components/responses/E401"
          },
          "403": {
            "$ref": "#/components/responses/E403"
          },
          "409": {
            "$ref": "#/components/responses/E409"
          },
          "422": {
            "$ref": "#/components/responses/E422"
          },
          "502": {
            "$ref": "#/components/responses/E502"
          }
        }
      }
    },
    "/healthz": {
      "get": {
        "summary": "Liveness (no token needed)",
        "operationId": "healthz",
        "security": [],
        "responses": {
          "200": {
            "description": "Alive",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Health"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/E400"
          }
        }
      }
    },
    "/metrics": {
      "get": {
        "summary": "Prometheus metrics (text exposition format)",
        "operationId": "metrics",
        "responses": {
          "200": {
            "description": "Metrics",
            "content": {
              "text/plain": {
                "schema": {
                  "type": "string"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/E400"
          },
          "401": {
            "$ref": "#/components/responses/E401"
          },
          "403": {
            "$ref": "#/components/responses/E403"
          }
        }
      }
    },
    "/": {
      "get": {
        "summary": "The status page",
        "operationId": "statusPage",
        "responses": {
          "200": {
            "description": "HTML",
            "content": {
              "text/html": {
                "schema": {
                  "type": "string"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/E400"
          },
          "401": {
            "$ref": "#/components/responses/E401"
          },
          "403": {
            "$ref": "#/components/responses/E403"
          }
        }
      }
    },
    "/openapi.json": {
      "get": {
        "summary": "This document (no token needed)",
        "operationId": "openapi",
        "security": [],
        "responses": {
          "200": {
            "description": "OpenAPI 3 document",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/E400"
          }
        }
      }
    }
  },
  "components": {
    "securitySchemes": {
      "bearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "Tokens from `otto serve --tokens FILE` or OTTO_API_TOKENS; GET routes need scope read, the others write (write implies read)."
      },
      "basic": {
        "type": "http",
        "scheme": "basic",
        "description": "The same tokens as the password of HTTP Basic (any user name), for browsers opening the status page."
      }
    },
    "schemas": {
      "Error": {
        "type": "object",
        "properties": {
          "error": {
            "type": "object",
            "properties": {
              "code": {
                "type": "string"
              },
              "message": {
                "type": "string"
              },
              "details": {
                "type": "array",
                "items": {
                  "type": "string"
                }
              }
            },
            "additionalProperties": false,
            "required": [
              "code",
              "message"
            ]
          }
        },
        "additionalProperties": false,
        "required": [
          "error"
        ]
      },
      "Host": {
        "type": "object",
        "properties": {
          "name": {
            "type": "string"
          },
          "source": {
            "type": "string",
            "enum": [
              "yaml",
              "api"
            ]
          },
          "location": {
            "type": "string"
          },
          "address": {
            "type": "string"
          },
          "port": {
            "type": "integer",
            "minimum": 1,
            "maximum": 65535
          },
          "user": {
            "type": "string"
          },
          "key": {
            "type": "string"
          },
          "groups": {
            "type": "array",
            "items": {
              "type": "string"
            }
          },
          "vars": {
            "type": "object",
            "additionalProperties": true
          },
          "updated_at": {
            "type": "string",
            "format": "date-time"
          },
          "problems": {
            "type": "array",
            "items": {
              "type": "string"
            }
          }
        },
        "additionalProperties": false,
        "required": [
          "name",
          "source",
          "location"
        ]
      },
      "HostInput": {
        "type": "object",
        "additionalProperties": false,
        "description": "An inventory host exactly as in inventory YAML `hosts:` (every key optional: address defaults to the name, port to 22, user to root). Checked by the same reader; unknown keys, wrong types and invalid values are 422.",
        "properties": {
          "address": {
            "type": "string"
          },
          "port": {
            "type": "integer",
            "minimum": 1,
            "maximum": 65535
          },
          "user": {
            "type": "string"
          },
          "key": {
            "type": "string"
          },
          "groups": {
            "oneOf": [
              {
                "type": "array",
                "items": {
                  "type": "string"
                }
              },
              {
                "type": "string"
              }
            ]
          },
          "vars": {
            "type": "object",
            "additionalProperties": true
          }
        }
      },
      "Inventory": {
        "type": "object",
        "properties": {
          "items": {
            "type": "array",
            "items": {
              "$ref": "#/components/schemas/Host"
            }
          }
        },
        "additionalProperties": false,
        "required": [
          "items"
        ]
      },
      "Nameservers": {
        "type": "object",
        "properties": {
          "domain": {
            "type": "string"
          },
          "zone": {
            "type": "string"
          },
          "source": {
            "type": "string",
            "enum": [
              "yaml",
              "api"
            ]
          },
          "location": {
            "type": "string"
          },
          "provider": {
            "type": "string"
          },
          "updated_at": {
            "type": "string",
            "format": "date-time"
          },
          "problems": {
            "type": "array",
            "items": {
              "type": "string"
            }
          },
          "nameservers": {
            "type": "array",
            "items": {
              "type": "string"
            }
          }
        },
        "additionalProperties": false,
        "required": [
          "domain",
          "zone",
          "source",
          "nameservers"
        ]
      },
      "Record": {
        "type": "object",
        "properties": {
          "name": {
            "type": "string"
          },
          "fqdn": {
            "type": "string"
          },
          "type": {
            "type": "string",
            "enum": [
              "A",
              "AAAA",
              "CNAME",
              "MX",
              "TXT",
              "NS",
              "SRV"
            ]
          },
          "ttl": {
            "type": "integer"
          },
          "values": {
            "type": "array",
            "items": {
              "type": "string"
            }
          },
          "to": {
            "type": "string"
          }
        },
        "additionalProperties": false,
        "required": [
          "name",
          "fqdn",
          "type",
          "ttl"
        ]
      },
      "Records": {
        "type": "object",
        "properties": {
          "domain": {
            "type": "string"
          },
          "zone": {
            "type": "string"
          },
          "source": {
            "type": "string",
            "enum": [
              "yaml",
              "api"
            ]
          },
          "location": {
            "type": "string"
          },
          "provider": {
            "type": "string"
          },
          "updated_at": {
            "type": "string",
            "format": "date-time"
          },
          "problems": {
            "type": "array",
            "items": {
              "type": "string"
            }
          },
          "ttl": {
            "type": "integer"
          },
          "records": {
            "type": "array",
            "items": {
              "$ref": "#/components/schemas/Record"
            }
          }
        },
        "additionalProperties": false,
        "required": [
          "domain",
          "zone",
          "source",
          "records"
        ]
      },
      "RecordInput": {
        "type": "object",
        "additionalProperties": false,
        "required": [
          "name",
          "type"
        ],
        "description": "One rrset exactly as in a site's `dns.records` YAML: name (`@` is the apex), type, ttl, and one of value, values or to.",
        "properties": {
          "name": {
            "type": "string"
          },
          "type": {
            "type": "string"
          },
          "ttl": {
            "type": "integer",
            "minimum": 0,
            "maximum": 2147483647
          },
          "value": {
            "type": "string"
          },
          "values": {
            "type": "array",
            "items": {
              "type": "string"
            }
          },
          "to": {
            "type": "string"
          },
          "prevent_destroy": {
            "type": "boolean"
          },
          "ignore_changes": {
            "type": "array",
            "items": {
              "type": "string"
            }
          },
          "depends_on": {
            "type": "array",
            "items": {
              "type": "string"
            }
          }
        }
      },
      "RecordsInput": {
        "type": "object",
        "additionalProperties": false,
        "required": [
          "records"
        ],
        "properties": {
          "ttl": {
            "type": "integer",
            "minimum": 0,
            "maximum": 2147483647
          },
          "records": {
            "type": "array",
            "items": {
              "$ref": "#/components/schemas/RecordInput"
            }
          }
        }
      },
      "WalkSummary": {
        "type": "object",
        "properties": {
          "id": {
            "type": "string"
          },
          "site": {
            "type": "string"
          },
          "started_at": {
            "type": "string",
            "format": "date-time"
          },
          "finished_at": {
            "type": "string",
            "format": "date-time",
            "nullable": true
          },
          "pages": {
            "type": "integer"
          },
          "broken": {
            "type": "integer"
          },
          "seconds": {
            "type": "number"
          }
        },
        "additionalProperties": false,
        "required": [
          "id",
          "site",
          "started_at",
          "finished_at",
          "pages",
          "broken",
          "seconds"
        ]
      },
      "WalkPage": {
        "type": "object",
        "properties": {
          "url": {
            "type": "string"
          },
          "status": {
            "type": "integer"
          },
          "ms": {
            "type": "number"
          },
          "bytes": {
            "type": "integer"
          },
          "redirects": {
            "type": "array",
            "items": {
              "type": "string"
            }
          },
          "links": {
            "type": "array",
            "items": {
              "type": "string"
            }
          },
          "error": {
            "type": "string",
            "nullable": true
          }
        },
        "additionalProperties": false,
        "required": [
          "url",
          "status",
          "ms",
          "bytes",
          "redirects",
          "links",
          "error"
        ]
      },
      "BrokenLink": {
        "type": "object",
        "properties": {
          "url": {
            "type": "string"
          },
          "status": {
            "type": "integer"
          },
          "error": {
            "type": "string",
            "nullable": true
          },
          "found_on": {
            "type": "array",
            "items": {
              "type": "string"
            }
          }
        },
        "additionalProperties": false,
        "required": [
          "url",
          "status",
          "error",
          "found_on"
        ]
      },
      "WalkReport": {
        "type": "object",
        "properties": {
          "id": {
            "type": "string"
          },
          "site": {
            "type": "string"
          },
          "started_at": {
            "type": "string",
            "format": "date-time"
          },
          "finished_at": {
            "type": "string",
            "format": "date-time",
            "nullable": true
          },
          "pages": {
            "type": "array",
            "items": {
              "$ref": "#/components/schemas/WalkPage"
            }
          },
          "broken": {
            "type": "integer"
          },
          "seconds": {
            "type": "number"
          },
          "broken_links": {
            "type": "array",
            "items": {
              "$ref": "#/components/schemas/BrokenLink"
            }
          }
        },
        "additionalProperties": false,
        "required": [
          "id",
          "site",
          "started_at",
          "finished_at",
          "pages",
          "broken",
          "seconds",
          "broken_links"
        ]
      },
      "Walker": {
        "type": "object",
        "properties": {
          "site": {
            "type": "string"
          },
          "source": {
            "type": "string",
            "enum": [
              "yaml",
              "api"
            ]
          },
          "every": {
            "type": "string"
          },
          "depth": {
            "type": "integer"
          },
          "max_pages": {
            "type": "integer"
          },
          "allow": {
            "type": "array",
            "items": {
              "type": "string"
            }
          },
          "start": {
            "type": "string"
          },
          "location": {
            "type": "string"
          }
        },
        "additionalProperties": false,
        "required": [
          "site",
          "source",
          "every",
          "depth",
          "max_pages",
          "allow",
          "start",
          "location"
        ]
      },
      "WalkList": {
        "type": "object",
        "properties": {
          "walks": {
            "type": "array",
            "items": {
              "$ref": "#/components/schemas/WalkSummary"
            }
          }
        },
        "additionalProperties": false,
        "required": [
          "walks"
        ]
      },
      "SiteWalks": {
        "type": "object",
        "properties": {
          "site": {
            "type": "string"
          },
          "walk_ids": {
            "type": "array",
            "items": {
              "type": "string"
            }
          },
          "last": {
            "nullable": true,
            "allOf": [
              {
                "$ref": "#/components/schemas/WalkReport"
              }
            ]
          },
          "walkers": {
            "type": "array",
            "items": {
              "$ref": "#/components/schemas/Walker"
            }
          }
        },
        "additionalProperties": false,
        "required": [
          "site",
          "walk_ids",
          "last",
          "walkers"
        ]
      },
      "PlanRequest": {
        "type": "object",
        "additionalProperties": false,
        "properties": {
          "targets": {
            "type": "array",
            "items": {
              "type": "string"
            }
          },
          "replace": {
            "type": "array",
            "items": {
              "type": "string"
            }
          },
          "destroy": {
            "type": "boolean"
          },
          "refresh_only": {
            "type": "boolean"
          },
          "refresh": {
            "type": "boolean"
          }
        }
      },
      "ApplyRequest": {
        "type": "object",
        "additionalProperties": false,
        "properties": {
          "targets": {
            "type": "array",
            "items": {
              "type": "string"
            }
          },
          "replace": {
            "type": "array",
            "items": {
              "type": "string"
            }
          },
          "destroy": {
            "type": "boolean"
          },
          "refresh_only": {
            "type": "boolean"
          },
          "refresh": {
            "type": "boolean"
          },
          "parallelism": {
            "type": "integer",
            "minimum": 1,
            "maximum": 1000
          }
        }
      },
      "AttributeChange": {
        "type": "object",
        "properties": {
          "name": {
            "type": "string"
          },
          "before": {
            "nullable": true
          },
          "after": {
            "nullable": true
          },
          "forces_replace": {
            "type": "boolean"
          }
        },
        "additionalProperties": false,
        "required": [
          "name",
          "before",
          "after",
          "forces_replace"
        ]
      },
      "Change": {
        "type": "object",
        "properties": {
          "address": {
            "type": "string"
          },
          "provider": {
            "type": "string"
          },
          "action": {
            "type": "string",
            "enum": [
              "create",
              "update",
              "replace",
              "delete"
            ]
          },
          "reason": {
            "type": "string"
          },
          "source": {
            "type": "string",
            "enum": [
              "yaml",
              "api"
            ]
          },
          "attributes": {
            "type": "array",
            "items": {
              "$ref": "#/components/schemas/AttributeChange"
            }
          }
        },
        "additionalProperties": false,
        "required": [
          "address",
          "provider",
          "action",
          "reason",
          "source",
          "attributes"
        ]
      },
      "Plan": {
        "type": "object",
        "properties": {
          "lineage": {
            "type": "string"
          },
          "serial": {
            "type": "integer"
          },
          "mode": {
            "type": "string",
            "enum": [
              "normal",
              "destroy",
              "refreshOnly"
            ]
          },
          "created_at": {
            "type": "string",
            "format": "date-time"
          },
          "has_changes": {
            "type": "boolean"
          },
          "counts": {
            "type": "object",
            "properties": {
              "noop": {
                "type": "integer"
              },
              "create": {
                "type": "integer"
              },
              "update": {
                "type": "integer"
              },
              "replace": {
                "type": "integer"
              },
              "delete": {
                "type": "integer"
              }
            },
            "additionalProperties": false,
            "required": [
              "noop",
              "create",
              "update",
              "replace",
              "delete"
            ]
          },
          "changes": {
            "type": "array",
            "items": {
              "$ref": "#/components/schemas/Change"
            }
          },
          "drift": {
            "type": "array",
            "items": {
              "type": "string"
            }
          },
          "refresh": {
            "nullable": true,
            "type": "object",
            "additionalProperties": false,
            "required": [
              "seconds",
              "resources",
              "api_calls"
            ],
            "properties": {
              "seconds": {
                "type": "number"
              },
              "resources": {
                "type": "integer"
              },
              "api_calls": {
                "type": "object",
                "additionalProperties": {
                  "type": "integer"
                }
              }
            }
          }
        },
        "additionalProperties": false,
        "required": [
          "lineage",
          "serial",
          "mode",
          "created_at",
          "has_changes",
          "counts",
          "changes",
          "drift",
          "refresh"
        ]
      },
      "RunEvent": {
        "type": "object",
        "properties": {
          "seq": {
            "type": "integer"
          },
          "at": {
            "type": "string",
            "format": "date-time"
          },
          "type": {
            "type": "string"
          },
          "address": {
            "type": "string",
            "nullable": true
          },
          "action": {
            "type": "string",
            "nullable": true
          },
          "message": {
            "type": "string",
            "nullable": true
          }
        },
        "additionalProperties": false,
        "required": [
          "seq",
          "at",
          "type",
          "address",
          "action",
          "message"
        ]
      },
      "RunOutcome": {
        "type": "object",
        "properties": {
          "ok": {
            "type": "boolean"
          },
          "summary": {
            "type": "string"
          },
          "created": {
            "type": "integer"
          },
          "updated": {
            "type": "integer"
          },
          "replaced": {
            "type": "integer"
          },
          "deleted": {
            "type": "integer"
          },
          "failed": {
            "type": "integer"
          },
          "skipped": {
            "type": "integer"
          },
          "interrupted": {
            "type": "boolean"
          },
          "seconds": {
            "type": "number"
          }
        },
        "additionalProperties": false,
        "required": [
          "ok",
          "summary",
          "created",
          "updated",
          "replaced",
          "deleted",
          "failed",
          "skipped",
          "interrupted",
          "seconds"
        ]
      },
      "Run": {
        "type": "object",
        "properties": {
          "id": {
            "type": "string"
          },
          "kind": {
            "type": "string"
          },
          "state": {
            "type": "string",
            "enum": [
              "running",
              "succeeded",
              "failed",
              "interrupted"
            ]
          },
          "started_at": {
            "type": "string",
            "format": "date-time"
          },
          "finished_at": {
            "type": "string",
            "format": "date-time",
            "nullable": true
          },
          "events": {
            "type": "array",
            "items": {
              "$ref": "#/components/schemas/RunEvent"
            }
          },
          "outcome": {
            "nullable": true,
            "allOf": [
              {
                "$ref": "#/components/schemas/RunOutcome"
              }
            ]
          },
          "error": {
            "nullable": true,
            "type": "object",
            "additionalProperties": false,
            "required": [
              "code",
              "message"
            ],
            "properties": {
              "code": {
                "type": "string"
              },
              "message": {
                "type": "string"
              }
            }
          }
        },
        "additionalProperties": false,
        "required": [
          "id",
          "kind",
          "state",
          "started_at",
          "finished_at",
          "events",
          "outcome",
          "error"
        ]
      },
      "Status": {
        "type": "object",
        "properties": {
          "generated_at": {
            "type": "string",
            "format": "date-time"
          },
          "resources": {
            "type": "array",
            "items": {
              "type": "object",
              "properties": {
                "address": {
                  "type": "string"
                },
                "status": {
                  "type": "string"
                },
                "detail": {
                  "type": "string"
                },
                "source": {
                  "type": "string",
                  "enum": [
                    "yaml",
                    "api"
                  ]
                }
              },
              "additionalProperties": false,
              "required": [
                "address",
                "status",
                "detail",
                "source"
              ]
            }
          },
          "backends": {
            "type": "array",
            "items": {
              "type": "object",
              "properties": {
                "load_balancer": {
                  "type": "string"
                },
                "server": {
                  "type": "string"
                },
                "health": {
                  "type": "string"
                }
              },
              "additionalProperties": false,
              "required": [
                "load_balancer",
                "server",
                "health"
              ]
            }
          },
          "summary": {
            "type": "object",
            "properties": {
              "total": {
                "type": "integer"
              },
              "in_sync": {
                "type": "integer"
              }
            },
            "additionalProperties": false,
            "required": [
              "total",
              "in_sync"
            ]
          }
        },
        "additionalProperties": false,
        "required": [
          "generated_at",
          "resources",
          "backends",
          "summary"
        ]
      },
      "Health": {
        "type": "object",
        "properties": {
          "status": {
            "type": "string",
            "enum": [
              "ok"
            ]
          }
        },
        "additionalProperties": false,
        "required": [
          "status"
        ]
      }
    },
    "responses": {
      "E400": {
        "description": "Bad request: malformed JSON, a bad query parameter or path name (`body.malformed`, `query.unknown`, `query.rec`, `name.invalid`, ...)",
        "content": {
          "application/json": {
            "schema": {
              "$ref": "#/components/schemas/Error"
            }
          }
        }
      },
      "E401": {
        "description": "No bearer token, or not a valid one (`auth.missing`, `auth.invalid`)",
        "content": {
          "application/json": {
            "schema": {
              "$ref": "#/components/schemas/Error"
            }
          }
        }
      },
      "E403": {
        "description": "The token's scope is too small (`auth.scope`)",
        "content": {
          "application/json": {
            "schema": {
              "$ref": "#/components/schemas/Error"
            }
          }
        }
      },
      "E404": {
        "description": "No such item (`not_found`)",
        "content": {
          "application/json": {
            "schema": {
              "$ref": "#/components/schemas/Error"
            }
          }
        }
      },
      "E409": {
        "description": "Defined in YAML and read-only over the API (`item.yaml_owned`, with the file:line:col), a zone's provider conflict, or the state is locked (`state.locked`)",
        "content": {
          "application/json": {
            "schema": {
              "$ref": "#/components/schemas/Error"
            }
          }
        }
      },
      "E413": {
        "description": "The body is larger than the limit (`body.too_large`)",
        "content": {
          "application/json": {
            "schema": {
              "$ref": "#/components/schemas/Error"
            }
          }
        }
      },
      "E415": {
        "description": "The body is not JSON (`body.media_type`)",
        "content": {
          "application/json": {
            "schema": {
              "$ref": "#/components/schemas/Error"
            }
          }
        }
      },
      "E422": {
        "description": "The request is well-formed but invalid: the configuration reader's diagnostics (`config.invalid`, every one in `details`)",
        "content": {
          "application/json": {
            "schema": {
              "$ref": "#/components/schemas/Error"
            }
          }
        }
      },
      "E502": {
        "description": "A service behind the API failed (a provider, the walker, the engine)",
        "content": {
          "application/json": {
            "schema": {
              "$ref": "#/components/schemas/Error"
            }
          }
        }
      },
      "E503": {
        "description": "The state database could not be read or written (`state.unavailable`)",
        "content": {
          "application/json": {
            "schema": {
              "$ref": "#/components/schemas/Error"
            }
          }
        }
      }
    }
  }
}
"""#
}
