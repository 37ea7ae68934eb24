resource "kubernetes_secret_v1" "db" {
  metadata {
    name      = "db"
    namespace = "shop"
  }
  data = {
    password = "Zq8-generated-by-cnsec-test-7Hk2"
  }
}
resource "kubernetes_deployment_v1" "api" {
  metadata {
    name      = "api"
    namespace = "shop"
  }
  spec {
    template {
      metadata {}
      spec {
        container {
          name  = "api"
          image = "nginx"
          env {
            name  = "DB_PASSWORD"
            value = "Zq8-generated-by-cnsec-test-7Hk2"
          }
        }
      }
    }
  }
}
