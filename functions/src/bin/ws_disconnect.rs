//! The `ws_disconnect` Lambda: see `im_functions::by_name::ws_disconnect`.
#[tokio::main]
async fn main() -> Result<(), im_functions::Error> {
    im_functions::lambda_main(im_functions::by_name::ws_disconnect()).await
}
