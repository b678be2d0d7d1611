package coreapi

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/backpackhq/backpack/core"
	"github.com/backpackhq/backpack/tools/credentials"
	"github.com/backpackhq/backpack/tools/httpapi"
	"github.com/labstack/echo/v4"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// The admin port serves the control plane: user, collection, document, file, site and settings
// management without collection rules, plus the live change stream. It listens on its own
// address, reachable only on the admin network, and every request needs the admin token.

// Version is reported by /admin/info; release builds set it with -ldflags.
var Version = "dev"

func (s *Server) adminRouter() *echo.Echo {
	e := s.newEcho()
	e.Use(s.requireAdminToken, s.limitBody, s.refuseWhileRestoring)
	e.GET("/healthz", httpapi.Healthz)
	e.GET("/readyz", s.readyz)
	e.GET("/metrics", s.metrics.handler())
	a := e.Group("/admin")
	a.GET("/info", s.handleAdminInfo)
	a.GET("/users", s.handleAdminListUsers)
	a.GET("/users/:id", s.handleAdminGetUser)
	a.DELETE("/users/:id", s.handleAdminDeleteUser)
	a.GET("/collections", s.handleAdminListCollections)
	a.POST("/collections", s.handleAdminCreateCollection)
	a.PATCH("/collections/:collection", s.handleAdminSetRule)
	a.DELETE("/collections/:collection", s.handleAdminDropCollection)
	s.indexRoutes(a)
	a.GET("/collections/:collection/docs", s.handleListDocuments)
	a.POST("/collections/:collection/docs", s.handleCreateDocument)
	a.GET("/collections/:collection/docs/:id", s.handleGetDocument)
	a.PUT("/collections/:collection/docs/:id", s.handleReplaceDocument)
	a.PATCH("/collections/:collection/docs/:id", s.handlePatchDocument)
	a.DELETE("/collections/:collection/docs/:id", s.handleDeleteDocument)
	a.GET("/files", s.handleAdminListFiles)
	a.GET("/files/:userId/:filename", s.handleAdminDownloadFile)
	a.DELETE("/files/:userId/:filename", s.handleAdminDeleteFile)
	a.GET("/site", s.handleGetSite)
	a.PUT("/site", s.handlePutSite)
	a.POST("/site/rollback", s.handleRollbackSite)
	a.GET("/settings", s.handleGetSettings)
	a.PATCH("/settings", s.handlePatchSettings)
	a.GET("/functions", s.handleListFunctions)
	a.GET("/functions/:name", s.handleGetFunction)
	a.PUT("/functions/:name", s.handleDeployFunction)
	a.DELETE("/functions/:name", s.handleDeleteFunction)
	a.GET("/functions/:name/logs", s.handleFunctionLogs)
	a.POST("/functions/:name/invoke", s.handleInvokeFunction)
	a.GET("/ws", s.handleWS)
	a.GET("/backup", s.handleBackup)
	a.POST("/restore", s.handleRestore)
	return e
}

type adminInfo struct {
	Version     string         `json:"version"`
	Uptime      string         `json:"uptime"`
	StartedAt   string         `json:"startedAt"`
	Counts      map[string]int `json:"counts"`
	Connections int            `json:"connections"`
}

func (s *Server) handleAdminInfo(c echo.Context) error {
	counts, err := s.data.Counts(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, adminInfo{
		Version: Version, Uptime: time.Since(s.started).Round(time.Second).String(),
		StartedAt: s.started.UTC().Format(core.TimestampLayout), Counts: counts, Connections: s.hub.count(),
	})
}

var adminUserParams = map[string]bool{"email": true, "limit": true, "skip": true}

// handleAdminListUsers lists users by email, optionally those whose email contains ?email=,
// paged with ?limit= and ?skip=; X-Total-Count has the number matching.
func (s *Server) handleAdminListUsers(c echo.Context) error {
	q := c.QueryParams()
	for k := range q {
		if !adminUserParams[k] {
			return httpapi.BadRequest("invalid_query", fmt.Sprintf("unknown query parameter %q (use email, limit, skip)", k))
		}
	}
	limit, err := intParam(q, "limit", defaultListLimit, 1, maxListLimit)
	if err != nil {
		return err
	}
	skip, err := intParam(q, "skip", 0, 0, maxListSkip)
	if err != nil {
		return err
	}
	search := q.Get("email")
	if len(search) > credentials.MaxEmailBytes {
		return httpapi.BadRequest("invalid_query", "the email search is too long")
	}
	users, total, err := s.data.ListUsers(c.Request().Context(), search, limit, skip)
	if err != nil {
		return err
	}
	out := make([]core.PublicUser, 0, len(users))
	for _, u := range users {
		out = append(out, u.Public())
	}
	c.Response().Header().Set("X-Total-Count", strconv.FormatInt(total, 10))
	return c.JSON(http.StatusOK, out)
}

var errUserNotFound = httpapi.NewError(http.StatusNotFound, "user_not_found", "no such user")

func (s *Server) handleAdminGetUser(c echo.Context) error {
	u, err := s.data.UserByID(c.Request().Context(), c.Param("id"))
	if errors.Is(err, core.ErrNoUser) {
		return errUserNotFound
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, u.Public())
}

// handleAdminDeleteUser deletes a user; their sessions and websocket connections end at once.
// Their documents and files stay, as the backend's data.
func (s *Server) handleAdminDeleteUser(c echo.Context) error {
	u, err := s.data.DeleteUser(c.Request().Context(), c.Param("id"))
	if errors.Is(err, core.ErrNoUser) {
		return errUserNotFound
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, u.Public())
}

func (s *Server) handleAdminListCollections(c echo.Context) error {
	ctx := c.Request().Context()
	infos, err := s.data.ListCollections(ctx)
	if err != nil {
		return err
	}
	out := make([]core.CollectionView, 0, len(infos))
	for _, info := range infos {
		v, err := s.data.ViewCollection(ctx, info)
		if err != nil {
			return err
		}
		out = append(out, v)
	}
	return c.JSON(http.StatusOK, out)
}

type adminCollectionRequest struct {
	Name string    `json:"name"`
	Rule core.Rule `json:"rule"`
}

func (s *Server) handleAdminCreateCollection(c echo.Context) error {
	var req adminCollectionRequest
	if err := httpapi.DecodeJSON(c, &req); err != nil {
		return err
	}
	if req.Rule != "" && !req.Rule.Valid() {
		return core.ErrInvalidRule
	}
	ctx := c.Request().Context()
	info, err := s.data.CreateCollection(ctx, req.Name)
	if err != nil {
		return err
	}
	if req.Rule != "" && req.Rule != info.Rule {
		if info, err = s.data.SetCollectionRule(ctx, info.Name, req.Rule); err != nil {
			return err
		}
	}
	v, err := s.data.ViewCollection(ctx, info)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, v)
}

type ruleRequest struct {
	Rule core.Rule `json:"rule"`
}

func (s *Server) handleAdminSetRule(c echo.Context) error {
	var req ruleRequest
	if err := httpapi.DecodeJSON(c, &req); err != nil {
		return err
	}
	ctx := c.Request().Context()
	info, err := s.data.SetCollectionRule(ctx, c.Param("collection"), req.Rule)
	if err != nil {
		return err
	}
	v, err := s.data.ViewCollection(ctx, info)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

// handleAdminDropCollection deletes a collection and all its documents.
func (s *Server) handleAdminDropCollection(c echo.Context) error {
	v, err := s.data.DropCollection(c.Request().Context(), c.Param("collection"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

func (s *Server) handleAdminListFiles(c echo.Context) error {
	q := c.QueryParams()
	for k := range q {
		if k != "userId" {
			return httpapi.BadRequest("invalid_query", fmt.Sprintf("unknown query parameter %q (use userId)", k))
		}
	}
	if v := q.Get("userId"); v != "" {
		if _, err := bson.ObjectIDFromHex(v); err != nil {
			return httpapi.BadRequest("invalid_id", "userId must be 24 hexadecimal characters")
		}
	}
	return s.writeFileList(c, q.Get("userId"), "")
}

// handleAdminDownloadFile sends any user's file as a download: the admin panel shows end users'
// uploads on its own origin, where they must never render.
func (s *Server) handleAdminDownloadFile(c echo.Context) error {
	return s.serveFile(c, "attachment")
}

func (s *Server) handleAdminDeleteFile(c echo.Context) error {
	owner, filename, err := anyUsersFile(c)
	if err != nil {
		return err
	}
	return s.removeFile(c, owner, filename)
}
